#include "cli/commands.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "app/app.hpp"
#include "auth/password.hpp"
#include "http/server.hpp"
#include "util/validate.hpp"

namespace castera::cli {
namespace {

// A failure to report as one line and exit 1.
struct CommandError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Runs one store coroutine to completion (the CLI has no event loop of its own).
template <typename T>
T run_sync(Task<T> task) {
    boost::asio::io_context io;
    auto future = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
    io.run();
    return future.get();
}

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

int create_user(const Config& config, const UserOptions& opt, std::optional<std::string> password) {
    auto factory = open_database(config);
    auto store = factory->make_store();
    NewUser user;
    user.email = checked_email(opt.email);
    user.password = password ? make_password(*password, config.password_iterations) : make_unusable_password();
    if (!opt.full_name.empty()) user.full_name = opt.full_name;
    user.role = opt.role;
    user.is_staff = opt.staff || opt.superuser;
    user.is_superuser = opt.superuser;
    try {
        User created = run_sync(store->create_user(std::move(user)));
        std::cout << (opt.superuser ? "Superuser" : "User") << " " << created.email << " created (id "
                  << created.id << ").\n";
    } catch (const StoreConflict&) {
        throw CommandError("a user with email " + opt.email + " already exists");
    }
    return 0;
}

int change_password(const Config& config, const std::string& email, bool from_stdin) {
    auto factory = open_database(config);
    auto store = factory->make_store();
    auto user = run_sync(store->find_user_by_email(normalize_email(email)));
    if (!user) throw CommandError("no user with email " + email);
    std::string password = from_stdin ? read_line_from_stdin() : prompt_new_password();
    run_sync(store->set_password(user->id, make_password(password, config.password_iterations)));
    // A new password ends every session opened with the old one.
    run_sync(store->delete_user_sessions(user->id));
    std::cout << "Password changed for " << user->email << ".\n";
    return 0;
}

int serve(Config config) {
    App app(config, open_database(config));
    http::serve(app, [&](unsigned short port) {
        std::cerr << "castera: listening on http://" << config.host << ":" << port << " ("
                  << app.stores->describe() << ")" << std::endl;
    });
    std::cerr << "castera: stopped" << std::endl;
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
    try {
        config = load_config_from_env();
        if (!host.empty()) config.host = host;
        if (port) config.port = static_cast<std::uint16_t>(port);
        if (serve_cmd->parsed()) {
            check_secret_key(config);
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
