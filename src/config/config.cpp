#include "config/config.hpp"

#include <cctype>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>

#include "webhooks/endpoint.hpp"
#include "webhooks/signature.hpp"

namespace castera {
namespace {

std::optional<std::string> env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// Reads a whole non-negative integer within [min, max], or stops start-up with a clear line.
std::int64_t parse_integer_setting(const std::string& name, const std::string& value,
                                   std::int64_t min, std::int64_t max) {
    std::int64_t out = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc{} || end != value.data() + value.size() || out < min || out > max)
        throw ConfigError(name + " must be a whole number from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", not \"" + value + "\"");
    return out;
}

std::vector<std::string> split_list(const std::string& value) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= value.size()) {
        std::size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        std::string item = value.substr(start, comma - start);
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t/") + 1);
        if (!item.empty()) out.push_back(item);
        start = comma + 1;
    }
    return out;
}

// A URL component with everything but unreserved characters escaped: a password may hold
// '&', '=', '%' or '/', which would otherwise end or change the value libpq reads.
std::string percent_encode(const std::string& text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

// Builds a libpq URL from the old server's POSTGRES_* variables (and its defaults).
std::string postgres_url_from_old_variables(const std::string& host) {
    std::string db = env("POSTGRES_DB").value_or("castera_db_main");
    std::string user = env("POSTGRES_USER").value_or("castera_user_main");
    std::string password = env("POSTGRES_PASSWORD").value_or("");
    std::string port = env("POSTGRES_PORT").value_or("5432");
    parse_integer_setting("POSTGRES_PORT", port, 1, 65535);
    // Host, user and password go into query parameters, which libpq reads as keywords.
    std::string url = "postgresql:///" + percent_encode(db) + "?host=" + percent_encode(host) + "&port=" + port +
                      "&user=" + percent_encode(user);
    if (!password.empty()) url += "&password=" + percent_encode(password);
    return url;
}

void read_network(Config& c) {
    if (auto v = env("CASTERA_HOST")) c.host = *v;
    if (auto v = env("CASTERA_PORT"))
        c.port = static_cast<std::uint16_t>(parse_integer_setting("CASTERA_PORT", *v, 1, 65535));
    if (auto v = env("CASTERA_THREADS"))
        c.threads = static_cast<unsigned>(parse_integer_setting("CASTERA_THREADS", *v, 0, 256));
}

void read_storage(Config& c) {
    if (auto v = env("CASTERA_DATABASE_URL")) {
        if (v->empty()) throw ConfigError("CASTERA_DATABASE_URL is set but empty");
        c.database_url = *v;
    } else if (auto host = env("POSTGRES_HOST"); host && !host->empty()) {
        c.database_url = postgres_url_from_old_variables(*host);
    }
}

void read_security(Config& c) {
    if (auto v = env("CASTERA_DEBUG")) c.debug = parse_bool_setting("CASTERA_DEBUG", *v);
    else if (auto v = env("DJANGO_DEBUG")) c.debug = parse_bool_setting("DJANGO_DEBUG", *v);
    if (auto v = env("CASTERA_SECRET_KEY")) c.secret_key = *v;
    else if (auto v = env("DJANGO_SECRET_KEY")) c.secret_key = *v;
    c.secure_cookies = !c.debug;
    if (auto v = env("CASTERA_SECURE_COOKIES"))
        c.secure_cookies = parse_bool_setting("CASTERA_SECURE_COOKIES", *v);
    if (auto v = env("CASTERA_ALLOWED_ORIGINS")) c.allowed_origins = split_list(*v);
    if (auto v = env("CASTERA_TRUST_X_FORWARDED_PROTO"))
        c.trust_forwarded_proto = parse_bool_setting("CASTERA_TRUST_X_FORWARDED_PROTO", *v);
    if (auto v = env("CASTERA_PASSWORD_ITERATIONS"))
        c.password_iterations = static_cast<int>(
            parse_integer_setting("CASTERA_PASSWORD_ITERATIONS", *v, 1000, 10000000));
    if (auto v = env("CASTERA_SESSION_AGE_SECONDS"))
        c.session_age = std::chrono::seconds(
            parse_integer_setting("CASTERA_SESSION_AGE_SECONDS", *v, 60, 31536000));
}


void read_clerk(Config& c) {
    auto& clerk = c.clerk;
    if (auto v = env("CLERK_JWT_KEY")) clerk.public_key_pem = *v;
    if (auto v = env("CLERK_JWKS_FILE")) clerk.jwks_file = *v;
    if (auto v = env("CLERK_JWKS_URL")) clerk.jwks_url = *v;
    if (auto v = env("CLERK_ISSUER")) clerk.issuer = *v;
    if (auto v = env("CLERK_AUTHORIZED_PARTIES")) clerk.authorized_parties = split_list(*v);
    if (auto v = env("CLERK_LEEWAY_SECONDS"))
        clerk.leeway = std::chrono::seconds(parse_integer_setting("CLERK_LEEWAY_SECONDS", *v, 0, 600));
    if (auto v = env("CLERK_EMAIL_CLAIM"); v && !v->empty()) clerk.email_claim = *v;
    if (auto v = env("CLERK_ROLE_CLAIM")) clerk.role_claim = *v;
    if (!clerk.jwks_url.empty() && !clerk.jwks_url.starts_with("https://") && !clerk.jwks_url.starts_with("http://"))
        throw ConfigError("CLERK_JWKS_URL must be an http:// or https:// URL");
}

void read_throttling(Config& c) {
    if (auto v = env("CASTERA_LOGIN_FAILURES_PER_ACCOUNT"))
        c.login_failures_per_account =
            static_cast<int>(parse_integer_setting("CASTERA_LOGIN_FAILURES_PER_ACCOUNT", *v, 1, 1000000));
    if (auto v = env("CASTERA_LOGIN_FAILURES_PER_ADDRESS"))
        c.login_failures_per_address =
            static_cast<int>(parse_integer_setting("CASTERA_LOGIN_FAILURES_PER_ADDRESS", *v, 1, 1000000));
    if (auto v = env("CASTERA_LOGIN_FAILURE_WINDOW_SECONDS"))
        c.login_failure_window =
            std::chrono::seconds(parse_integer_setting("CASTERA_LOGIN_FAILURE_WINDOW_SECONDS", *v, 1, 86400));
    if (auto v = env("CASTERA_USER_REQUESTS_PER_MINUTE"))
        c.user_requests_per_minute =
            static_cast<int>(parse_integer_setting("CASTERA_USER_REQUESTS_PER_MINUTE", *v, 0, 10000000));
}

void read_limits(Config& c) {
    if (auto v = env("CASTERA_MAX_BODY_BYTES"))
        c.max_body_bytes = static_cast<std::size_t>(
            parse_integer_setting("CASTERA_MAX_BODY_BYTES", *v, 1024, 1LL << 30));
    if (auto v = env("CASTERA_KEEP_ALIVE_SECONDS"))
        c.keep_alive_timeout =
            std::chrono::seconds(parse_integer_setting("CASTERA_KEEP_ALIVE_SECONDS", *v, 1, 3600));
    if (auto v = env("CASTERA_MAX_HEADER_BYTES"))
        c.max_header_bytes = static_cast<std::size_t>(
            parse_integer_setting("CASTERA_MAX_HEADER_BYTES", *v, 1024, 1 << 20));
    if (auto v = env("CASTERA_HEADER_TIMEOUT_SECONDS"))
        c.header_timeout = std::chrono::seconds(parse_integer_setting("CASTERA_HEADER_TIMEOUT_SECONDS", *v, 1, 3600));
    if (auto v = env("CASTERA_BODY_TIMEOUT_SECONDS"))
        c.body_timeout = std::chrono::seconds(parse_integer_setting("CASTERA_BODY_TIMEOUT_SECONDS", *v, 1, 3600));
    if (auto v = env("CASTERA_MAX_CONNECTIONS"))
        c.max_connections = parse_integer_setting("CASTERA_MAX_CONNECTIONS", *v, 0, 100000000);
    if (auto v = env("CASTERA_WS_MAX_FRAME_BYTES"))
        c.ws_max_frame_bytes = static_cast<std::size_t>(
            parse_integer_setting("CASTERA_WS_MAX_FRAME_BYTES", *v, 128, 16 << 20));
    if (auto v = env("CASTERA_WS_MESSAGES_PER_SECOND"))
        c.ws_messages_per_second =
            static_cast<double>(parse_integer_setting("CASTERA_WS_MESSAGES_PER_SECOND", *v, 1, 1000000));
    if (auto v = env("CASTERA_WS_MESSAGE_BURST"))
        c.ws_message_burst = static_cast<int>(parse_integer_setting("CASTERA_WS_MESSAGE_BURST", *v, 1, 1000000));
    if (auto v = env("CASTERA_WS_IDLE_SECONDS"))
        c.ws_idle_timeout = std::chrono::seconds(parse_integer_setting("CASTERA_WS_IDLE_SECONDS", *v, 2, 86400));
    if (auto v = env("CASTERA_WS_MAX_CONNECTIONS_PER_USER"))
        c.ws_max_connections_per_user =
            static_cast<int>(parse_integer_setting("CASTERA_WS_MAX_CONNECTIONS_PER_USER", *v, 1, 1000000));
    if (auto v = env("CASTERA_WS_MAX_CONNECTIONS_PER_ROOM"))
        c.ws_max_connections_per_room =
            static_cast<int>(parse_integer_setting("CASTERA_WS_MAX_CONNECTIONS_PER_ROOM", *v, 1, 10000000));
    if (auto v = env("CASTERA_WS_HISTORY_MESSAGES"))
        c.ws_history_messages = static_cast<int>(parse_integer_setting("CASTERA_WS_HISTORY_MESSAGES", *v, 0, 1000));
    if (auto v = env("CASTERA_WS_RESUME_SECONDS"))
        c.ws_resume_window = std::chrono::seconds(parse_integer_setting("CASTERA_WS_RESUME_SECONDS", *v, 0, 3600));
    if (auto v = env("CASTERA_WS_MAX_QUEUED_FRAMES"))
        c.ws_max_queued_frames = static_cast<std::size_t>(
            parse_integer_setting("CASTERA_WS_MAX_QUEUED_FRAMES", *v, 1, 1 << 20));
}

// "stun:host[:port]", "turns:host?transport=tcp", ...: the schemes of RFC 7064 and 7065.
std::vector<std::string> read_ice_urls(const char* name, const std::string& value, bool turn) {
    std::vector<std::string> urls = split_list(value);
    for (const std::string& url : urls) {
        bool ok = turn ? (url.starts_with("turn:") || url.starts_with("turns:"))
                       : (url.starts_with("stun:") || url.starts_with("stuns:"));
        if (!ok || url.find_first_of(" \"\\") != std::string::npos || url.size() < 7)
            throw ConfigError(std::string(name) + " must be comma-separated " + (turn ? "turn:/turns:" : "stun:/stuns:") +
                              " URLs, not \"" + url + "\"");
    }
    return urls;
}

void read_ice(Config& c) {
    if (auto v = env("CASTERA_STUN_URLS")) c.ice.stun_urls = read_ice_urls("CASTERA_STUN_URLS", *v, false);
    if (auto v = env("CASTERA_TURN_URLS")) c.ice.turn_urls = read_ice_urls("CASTERA_TURN_URLS", *v, true);
    if (auto v = env("CASTERA_TURN_SECRET")) c.ice.turn_secret = *v;
    if (auto v = env("CASTERA_TURN_TTL_SECONDS"))
        c.ice.turn_ttl = std::chrono::seconds(parse_integer_setting("CASTERA_TURN_TTL_SECONDS", *v, 60, 30 * 86400));
    if (!c.ice.turn_urls.empty() && c.ice.turn_secret.empty())
        throw ConfigError("CASTERA_TURN_URLS needs CASTERA_TURN_SECRET (coturn's static-auth-secret)");
}

// A number of seconds or hours, which tests may make small ("0.2").
double parse_decimal_setting(const std::string& name, const std::string& value, double min, double max) {
    double out = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc{} || end != value.data() + value.size() || !(out >= min && out <= max))
    {
        char range[64];
        std::snprintf(range, sizeof range, "%g to %g", min, max);
        throw ConfigError(name + " must be a number from " + range + ", not \"" + value + "\"");
    }
    return out;
}

void read_webhooks(Config& c) {
    Config::Webhooks& w = c.webhooks;
    if (auto v = env("CASTERA_WEBHOOK_ALLOW_HTTP")) w.allow_http = parse_bool_setting("CASTERA_WEBHOOK_ALLOW_HTTP", *v);
    if (auto v = env("CASTERA_WEBHOOK_URLS")) {
        for (const std::string& url : split_list(*v)) {
            auto endpoint = webhooks::parse_endpoint(url);
            if (!endpoint)
                throw ConfigError("CASTERA_WEBHOOK_URLS must be comma-separated http(s)://host[:port]/path URLs, not \"" +
                                  url + "\"");
            if (!endpoint->tls && !w.allow_http && !webhooks::is_loopback_host(endpoint->host))
                throw ConfigError("CASTERA_WEBHOOK_URLS: \"" + url +
                                  "\" must be https:// (http:// only to loopback, or with CASTERA_WEBHOOK_ALLOW_HTTP=True)");
            w.urls.push_back(url);
        }
    }
    if (auto v = env("CASTERA_WEBHOOK_SECRET")) w.secret = *v;
    if (auto v = env("CASTERA_WEBHOOK_RETRY_BASE_SECONDS"))
        w.retry_base_seconds = parse_decimal_setting("CASTERA_WEBHOOK_RETRY_BASE_SECONDS", *v, 0.01, 3600);
    if (auto v = env("CASTERA_WEBHOOK_MAX_AGE_HOURS"))
        w.max_age_hours = parse_decimal_setting("CASTERA_WEBHOOK_MAX_AGE_HOURS", *v, 0.0001, 24 * 365);
    if (auto v = env("CASTERA_WEBHOOK_TIMEOUT_SECONDS"))
        w.timeout_seconds = parse_decimal_setting("CASTERA_WEBHOOK_TIMEOUT_SECONDS", *v, 0.1, 300);
    if (auto v = env("CASTERA_WEBHOOK_RETENTION_HOURS"))
        w.retention_hours = parse_decimal_setting("CASTERA_WEBHOOK_RETENTION_HOURS", *v, 0, 24 * 365);
}

void read_metrics(Config& c) {
    if (auto v = env("CASTERA_METRICS_TOKEN")) {
        // Set but empty would leave /metrics open; a space or control character could never
        // arrive in an Authorization header as it is.
        bool printable = std::all_of(v->begin(), v->end(), [](unsigned char ch) { return ch > 0x20 && ch < 0x7f; });
        if (v->empty() || !printable)
            throw ConfigError("CASTERA_METRICS_TOKEN must be printable ASCII without spaces (unset it to leave /metrics open)");
        c.metrics_token = *v;
    }
}

void read_logging(Config& c) {
    if (auto v = env("CASTERA_LOG_LEVEL"))
        if (!log::parse_level(*v, c.log_level))
            throw ConfigError("CASTERA_LOG_LEVEL must be debug, info, warning or error, not \"" + *v + "\"");
    if (auto v = env("CASTERA_LOG_FORMAT")) {
        if (*v == "text") c.log_format = log::Format::text;
        else if (*v == "json") c.log_format = log::Format::json;
        else throw ConfigError("CASTERA_LOG_FORMAT must be text or json, not \"" + *v + "\"");
    }
    if (auto v = env("CASTERA_ACCESS_LOG")) c.access_log = parse_bool_setting("CASTERA_ACCESS_LOG", *v);
}

// The value of one hexadecimal digit, or -1.
int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A password in a URL may be percent-encoded (it can hold '@', ':' or '/').
std::string percent_decode(std::string_view text, const std::string& setting) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        int high = i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
        int low = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
        if (high < 0 || low < 0) throw ConfigError(setting + " has a malformed %-escape");
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

// REDIS_HOST alone selects Redis, as in the old server; CASTERA_REDIS_URL wins when both are set.
void read_redis(Config& c) {
    if (auto v = env("CASTERA_REDIS_URL"); v && !v->empty()) {
        Config::Redis parsed = parse_redis_url(*v);
        parsed.instance_ttl = c.redis.instance_ttl;
        c.redis = std::move(parsed);
    } else if (auto host = env("REDIS_HOST"); host && !host->empty()) {
        c.redis.host = *host;
        if (auto port = env("REDIS_PORT"); port && !port->empty())
            c.redis.port = static_cast<std::uint16_t>(parse_integer_setting("REDIS_PORT", *port, 1, 65535));
    }
    if (auto v = env("CASTERA_REDIS_INSTANCE_TTL_SECONDS"))
        c.redis.instance_ttl =
            std::chrono::seconds(parse_integer_setting("CASTERA_REDIS_INSTANCE_TTL_SECONDS", *v, 3, 600));
}

}  // namespace

Config::Redis parse_redis_url(const std::string& url) {
    const std::string setting = "CASTERA_REDIS_URL";
    constexpr std::string_view scheme = "redis://";
    std::string_view rest = url;
    if (!rest.starts_with(scheme))
        throw ConfigError(setting + " must look like redis://[:password@]host[:port][/db], not \"" + url + "\"");
    rest.remove_prefix(scheme.size());
    Config::Redis out;
    // The database number after the first '/', the credentials before the last '@'.
    std::string_view path;
    if (std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
        path = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    if (std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        std::size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            // redis://secret@host: a lone value is the password, as redis-py reads it.
            out.password = percent_decode(userinfo, setting);
        } else {
            out.username = percent_decode(userinfo.substr(0, colon), setting);
            out.password = percent_decode(userinfo.substr(colon + 1), setting);
        }
    }
    std::string_view port;
    if (rest.starts_with('[')) {  // [IPv6]:port
        std::size_t close = rest.find(']');
        if (close == std::string_view::npos) throw ConfigError(setting + " has an unclosed '[' in its host");
        out.host = std::string(rest.substr(1, close - 1));
        std::string_view after = rest.substr(close + 1);
        if (!after.empty() && after.front() != ':') throw ConfigError(setting + " has text after its host");
        if (!after.empty()) port = after.substr(1);
    } else if (std::size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
        out.host = std::string(rest.substr(0, colon));
        port = rest.substr(colon + 1);
    } else {
        out.host = std::string(rest);
    }
    if (out.host.empty()) throw ConfigError(setting + " names no host");
    if (out.host.find_first_of(" \t/?#@") != std::string::npos)
        throw ConfigError(setting + " has a malformed host \"" + out.host + "\"");
    if (!port.empty())
        out.port = static_cast<std::uint16_t>(parse_integer_setting(setting + " port", std::string(port), 1, 65535));
    if (!path.empty())
        out.db = static_cast<int>(parse_integer_setting(setting + " database", std::string(path), 0, 1000000));
    return out;
}

// The insecure keys Django's startproject writes, and anything too short or too plain to
// sign with, are refused outside debug mode (as Django's security.W009 check warns).
void check_secret_key(const Config& c) {
    if (c.debug) return;
    const std::string& key = c.secret_key;
    if (key.empty())
        throw ConfigError("DJANGO_SECRET_KEY (or CASTERA_SECRET_KEY) must be set when not in debug mode");
    std::string distinct(key);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    if (key.starts_with("django-insecure-") || key.size() < 50 || distinct.size() < 5)
        throw ConfigError("DJANGO_SECRET_KEY is a default or weak key: use at least 50 random characters");
}

void check_webhook_secret(const Config& c) {
    if (!c.webhooks.enabled()) return;
    if (!webhooks::parse_secret(c.webhooks.secret))
        throw ConfigError("CASTERA_WEBHOOK_URLS needs CASTERA_WEBHOOK_SECRET: whsec_ followed by a base64 key of "
                          "24 to 64 bytes (castera webhooks secret prints one)");
}

bool parse_bool_setting(const std::string& name, const std::string& value) {
    std::string v = lower(value);
    if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "0" || v == "no" || v == "off" || v.empty()) return false;
    throw ConfigError(name + " must be True or False, not \"" + value + "\"");
}

Config load_config_from_env() {
    Config c;
    read_network(c);
    read_storage(c);
    read_security(c);
    read_limits(c);
    read_clerk(c);
    read_throttling(c);
    read_redis(c);
    read_logging(c);
    read_metrics(c);
    read_ice(c);
    read_webhooks(c);
    return c;
}

}  // namespace castera
