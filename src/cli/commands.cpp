#include "cli/commands.hpp"

#include <CLI/CLI.hpp>

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "app/app.hpp"
#include "http/server.hpp"
#include "observe/log.hpp"
#include "util/validate.hpp"
#include "webhooks/signature.hpp"

namespace castera::cli {
namespace {

// A failure to report as one line and exit 1.
struct CommandError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::unique_ptr<StoreFactory> open_database(const Config& config) {
    try {
        auto factory = make_store_factory(config.database_url);
        factory->migrate();
        return factory;
    } catch (const std::invalid_argument& e) {
        throw CommandError(std::string("bad database setting: ") + e.what());
    } catch (const std::exception& e) {
        throw CommandError(std::string("cannot open the database: ") + e.what());
    }
}

// Django's normalize_email: the domain part is case-insensitive, so it is lower-cased.
std::string normalize_email(std::string email) {
    std::size_t at = email.rfind('@');
    if (at != std::string::npos)
        for (std::size_t i = at + 1; i < email.size(); ++i)
            email[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(email[i])));
    return email;
}

std::string checked_email(const std::string& raw) {
    std::string email = normalize_email(raw);
    if (!is_valid_email(email)) throw CommandError("\"" + raw + "\" is not a valid email address");
    return email;
}

std::string read_line_from_stdin() {
    std::string line;
    if (!std::getline(std::cin, line)) throw CommandError("no password on standard input");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw CommandError("the password on standard input is empty");
    return line;
}

// Asks on the terminal without echo.
std::string prompt_hidden(const char* prompt) {
    std::cerr << prompt << std::flush;
    termios old{};
    bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    bool got = static_cast<bool>(std::getline(std::cin, line));
    if (tty) tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
    if (!got) throw CommandError("no password given");
    return line;
}

std::string prompt_new_password() {
    if (!isatty(STDIN_FILENO)) throw CommandError("no terminal to ask for a password: use --password-stdin");
    std::string first = prompt_hidden("Password: ");
    std::string second = prompt_hidden("Password (again): ");
    if (first != second) throw CommandError("the two passwords differ");
    if (first.empty()) throw CommandError("the password is empty");
    return first;
}

struct UserOptions {
    std::string email;
    bool password_stdin = false;
    std::string role = "user";
    std::string full_name;
    bool staff = false;
    bool superuser = false;
    bool noinput = false;
};

// The services on the database, without a server: what the user commands need. They act as
// castera itself (services::Actor::system()) and cause no room events.
struct Offline {
    explicit Offline(const Config& config)
        : factory(open_database(config)),
          store(factory->make_store()),
          passwords(hashing, config.password_iterations),
          throttle(config.login_failures_per_account, config.login_failures_per_address, config.login_failure_window),
          services(services::Deps{*store, events, passwords, throttle, credentials, counters}) {}

    std::unique_ptr<StoreFactory> factory;
    std::unique_ptr<Store> store;
    boost::asio::thread_pool hashing{1};
    services::PasswordHasher passwords;
    LoginThrottle throttle;
    CredentialCache credentials;
    LoopCounters counters;
    events::EventFanout events;
    services::Services services;
};

// A refusal of the services as the command's one line.
[[noreturn]] void fail_with(const services::Refusal& refusal) {
    std::string why = refusal.detail;
    for (const auto& [field, messages] : refusal.fields.entries())
        for (const auto& m : messages) why += (why.empty() ? "" : "; ") + field + ": " + m;
    throw CommandError(why.empty() ? "refused" : why);
}

int create_user(const Config& config, const UserOptions& opt, std::optional<std::string> password) {
    Offline offline(config);
    services::NewAccount account;
    account.email = checked_email(opt.email);
    account.password = std::move(password);
    if (!opt.full_name.empty()) account.full_name = opt.full_name;
    account.role = opt.role;
    account.is_staff = opt.staff || opt.superuser;
    account.is_superuser = opt.superuser;
    auto created = run_sync(offline.services.accounts.create_user(services::Actor::system(), std::move(account)));
    if (!created) {
        if (created.refusal().kind == services::Refusal::Kind::conflict)
            throw CommandError("a user with email " + opt.email + " already exists");
        fail_with(created.refusal());
    }
    std::cout << (opt.superuser ? "Superuser" : "User") << " " << created->email << " created (id " << created->id
              << ").\n";
    return 0;
}

int change_password(const Config& config, const std::string& email, bool from_stdin) {
    Offline offline(config);
    auto user = run_sync(offline.store->find_user_by_email(normalize_email(email)));
    if (!user) throw CommandError("no user with email " + email);
    std::string password = from_stdin ? read_line_from_stdin() : prompt_new_password();
    // A new password ends every session opened with the old one, in the same commit.
    auto changed = run_sync(offline.services.accounts.change_password(services::Actor::system(), *user, password));
    if (!changed) fail_with(changed.refusal());
    std::cout << "Password changed for " << user->email << ".\n";
    return 0;
}

int serve(Config config) {
    App app(config, open_database(config));
    http::serve(app, [&](unsigned short port) {
        log::info("server", "listening on http://" + config.host + ":" + std::to_string(port),
                  {{"database", app.stores->describe()}, {"bus", bus_state_name(app.bus->state())}});
    });
    log::info("server", "stopped");
    log::flush();
    return 0;
}

std::optional<std::string> superuser_password(bool noinput) {
    if (!noinput) return prompt_new_password();
    for (const char* name : {"CASTERA_SUPERUSER_PASSWORD", "DJANGO_SUPERUSER_PASSWORD"})
        if (const char* value = std::getenv(name); value && *value) return std::string(value);
    return std::nullopt;  // as Django: a superuser with an unusable password
}

}  // namespace

int run(int argc, char** argv) {
    CLI::App cli{"castera: the meeting backend (HTTP + WebSocket)"};
    cli.require_subcommand(1);
    Config config;
    std::string host;
    int port = 0;
    UserOptions user;
    bool password_stdin = false;

    auto* serve_cmd = cli.add_subcommand("serve", "Serve HTTP and WebSocket on one port");
    serve_cmd->add_option("--host", host, "Address to listen on (default 0.0.0.0)");
    serve_cmd->add_option("--port", port, "Port to listen on (default 8000)")->check(CLI::Range(1, 65535));
    cli.add_subcommand("migrate", "Create or upgrade the database schema (idempotent)");

    auto* createuser_cmd = cli.add_subcommand("createuser", "Create a user");
    createuser_cmd->add_option("--email", user.email, "Email address")->required();
    createuser_cmd->add_flag("--password-stdin", user.password_stdin, "Read the password from standard input");
    createuser_cmd->add_option("--role", user.role, "user or admin")->check(CLI::IsMember({"user", "admin"}));
    createuser_cmd->add_option("--full-name", user.full_name, "Full name");
    createuser_cmd->add_flag("--staff", user.staff, "May sign in to the admin site");
    createuser_cmd->add_flag("--superuser", user.superuser, "Superuser (implies --staff; the role stays as --role gives it)");

    auto* createsuperuser_cmd = cli.add_subcommand("createsuperuser", "Create a superuser (staff, role admin)");
    createsuperuser_cmd->add_option("--email", user.email, "Email address")->required();
    createsuperuser_cmd->add_flag("--noinput,--no-input", user.noinput,
                                  "Take the password from CASTERA_SUPERUSER_PASSWORD or DJANGO_SUPERUSER_PASSWORD");
    createsuperuser_cmd->add_option("--full-name", user.full_name, "Full name");

    auto* changepassword_cmd = cli.add_subcommand("changepassword", "Set a user's password");
    changepassword_cmd->add_option("--email", user.email, "Email address")->required();
    changepassword_cmd->add_flag("--password-stdin", password_stdin, "Read the password from standard input");

    auto* webhooks_cmd = cli.add_subcommand("webhooks", "Webhook tools");
    webhooks_cmd->require_subcommand(1);
    auto* secret_cmd = webhooks_cmd->add_subcommand(
        "secret", "Print a new random CASTERA_WEBHOOK_SECRET (whsec_ and 32 random bytes in base64)");

    try {
        cli.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return cli.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return cli.exit(e);
    } catch (const CLI::ParseError& e) {
        // One line, as every other usage or configuration error.
        std::cerr << "castera: " << e.what() << " (see castera --help)\n";
        return 2;
    }
    // Needs no configuration: a secret is made before there is one.
    if (secret_cmd->parsed()) {
        std::cout << webhooks::new_secret() << "\n";
        return 0;
    }
    try {
        config = load_config_from_env();
        log::configure(config.log_level, config.log_format);
        log::configure_access(config.access_log);
        if (!host.empty()) config.host = host;
        if (port) config.port = static_cast<std::uint16_t>(port);
        if (serve_cmd->parsed()) {
            check_secret_key(config);
            check_webhook_secret(config);
            return serve(config);
        }
        if (cli.got_subcommand("migrate")) {
            auto factory = open_database(config);
            std::cout << "Database is up to date (" << factory->describe() << ").\n";
            return 0;
        }
        if (createuser_cmd->parsed()) {
            std::optional<std::string> password;
            if (user.password_stdin) password = read_line_from_stdin();
            else if (isatty(STDIN_FILENO)) password = prompt_new_password();
            return create_user(config, user, password);
        }
        if (createsuperuser_cmd->parsed()) {
            user.superuser = true;
            user.role = "admin";
            return create_user(config, user, superuser_password(user.noinput));
        }
        if (changepassword_cmd->parsed()) return change_password(config, user.email, password_stdin);
    } catch (const ConfigError& e) {
        std::cerr << "castera: configuration error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "castera: " << e.what() << "\n";
        return 1;
    }
    return 2;
}

}  // namespace castera::cli
