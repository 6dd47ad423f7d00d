// All settings, read once from the environment at start-up into one typed struct.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "observe/log.hpp"

namespace castera {

struct Config {
    // Network.
    std::string host = "0.0.0.0";
    std::uint16_t port = 8000;
    unsigned threads = 0;  // event loops; 0 = one per core

    // Storage.
    std::string database_url = "sqlite:castera.db";

    // Security.
    std::string secret_key;
    std::string metrics_token;
    // The ICE servers handed to browsers (GET /api/ice-servers/, the castera.v2 welcome).
    struct Ice {
        std::vector<std::string> stun_urls;    // CASTERA_STUN_URLS
        std::vector<std::string> turn_urls;    // CASTERA_TURN_URLS
        std::string turn_secret;               // CASTERA_TURN_SECRET (coturn's static-auth-secret)
        std::chrono::seconds turn_ttl{86400};  // CASTERA_TURN_TTL_SECONDS
    } ice;  // CASTERA_METRICS_TOKEN: /metrics needs "Bearer <it>" when set
    bool debug = false;
    bool secure_cookies = true;
    std::vector<std::string> allowed_origins;  // scheme://host[:port], for cookie WS + CORS
    bool trust_forwarded_proto = false;  // X-Forwarded-Proto: https from a TLS proxy marks a request secure
    int password_iterations = 600000;
    std::chrono::seconds session_age{1209600};      // two weeks, as Django
    std::chrono::seconds credential_cache_ttl{300};  // verified Basic credentials

    // Bearer tokens from Clerk (RS256 JWTs), verified offline. Off unless a key source is set.
    struct Clerk {
        std::string public_key_pem;           // CLERK_JWT_KEY
        std::string jwks_file;                // CLERK_JWKS_FILE
        std::string jwks_url;                 // CLERK_JWKS_URL (fetched at start, then on unknown kid)
        std::string issuer;                   // CLERK_ISSUER: required "iss" when set
        std::vector<std::string> authorized_parties;  // CLERK_AUTHORIZED_PARTIES: allowed "azp"
        std::chrono::seconds leeway{5};       // CLERK_LEEWAY_SECONDS, for exp/nbf/iat
        std::string email_claim = "email";    // CLERK_EMAIL_CLAIM
        std::string role_claim;               // CLERK_ROLE_CLAIM (dotted path); "admin" there -> role admin
        bool enabled() const { return !public_key_pem.empty() || !jwks_file.empty() || !jwks_url.empty(); }
    } clerk;

    // Throttling of failed password logins, per account and per client address.
    int login_failures_per_account = 5;
    int login_failures_per_address = 50;
    std::chrono::seconds login_failure_window{300};
    int user_requests_per_minute = 0;  // general per-user rate limit; 0 = off

    // Limits.
    std::size_t max_body_bytes = 1 << 20;
    std::size_t max_header_bytes = 16 << 10;
    std::chrono::seconds keep_alive_timeout{60};  // idle between two requests of a connection
    // A request's header, from its first byte (a new connection's first request: from the
    // connection's opening), and its body, whole: a slow client holds a connection this long.
    std::chrono::seconds header_timeout{10};
    std::chrono::seconds body_timeout{30};
    // Open connections (HTTP and WebSocket) at most; beyond it a new one gets 503 and is
    // closed. 0: the descriptor limit less a reserve for the database, Redis and webhooks.
    std::int64_t max_connections = 0;
    std::size_t ws_max_frame_bytes = 64 << 10;
    std::size_t ws_max_queued_frames = 256;  // per connection, before a slow reader is dropped
    double ws_messages_per_second = 20;      // per connection, sustained
    int ws_message_burst = 60;               // per connection, short bursts above the rate
    std::chrono::seconds ws_idle_timeout{60};  // pinged at half of it, dropped at all of it
    int ws_max_connections_per_user = 50;    // in this process
    int ws_max_connections_per_room = 1000;  // in this process
    int ws_history_messages = 50;            // stored chats in a castera.v2 welcome
    std::chrono::seconds ws_resume_window{30};  // a dropped castera.v2 connection is held this long

    // The log (CASTERA_LOG_LEVEL, CASTERA_LOG_FORMAT).
    log::Level log_level = log::Level::info;
    log::Format log_format = log::Format::text;
    bool access_log = true;  // CASTERA_ACCESS_LOG: a line per request and per WebSocket session

    // Several instances: rooms shared through Redis pub/sub (CASTERA_REDIS_URL, or the old
    // server's REDIS_HOST/REDIS_PORT). No host: the in-process bus, no Redis needed.
    struct Redis {
        std::string host;
        std::uint16_t port = 6379;
        std::string username;  // Redis 6 ACL user, from redis://user:password@host
        std::string password;
        int db = 0;            // redis://host:port/db
        // How long an instance that stopped refreshing its liveness key counts as alive; its
        // participants are announced as left at most one sweep (2 s) after that.
        std::chrono::seconds instance_ttl{10};
        bool enabled() const { return !host.empty(); }
    } redis;

    // Webhooks: signed events from the outbox to these endpoints (Standard Webhooks).
    struct Webhooks {
        std::vector<std::string> urls;         // CASTERA_WEBHOOK_URLS
        std::string secret;                    // CASTERA_WEBHOOK_SECRET: "whsec_<base64 key>"
        double retry_base_seconds = 5;         // CASTERA_WEBHOOK_RETRY_BASE_SECONDS: doubles per attempt, to 1 h
        double max_age_hours = 72;             // CASTERA_WEBHOOK_MAX_AGE_HOURS: undelivered after it: failed
        double timeout_seconds = 10;           // CASTERA_WEBHOOK_TIMEOUT_SECONDS: one attempt, all of it
        double retention_hours = 24;           // CASTERA_WEBHOOK_RETENTION_HOURS: delivered rows kept
        bool allow_http = false;               // CASTERA_WEBHOOK_ALLOW_HTTP: http:// beyond loopback
        bool enabled() const { return !urls.empty(); }
    } webhooks;
};

// Thrown for bad configuration; the message is the one line shown to the operator.
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Reads the environment (old DJANGO_/POSTGRES_/REDIS_ names and CASTERA_* names).
Config load_config_from_env();

// Outside debug mode, a missing, default or weak secret key: throws ConfigError. Only the
// server signs anything (sessions, CSRF tokens); the other commands run without a key.
void check_secret_key(const Config& config);

// With webhook URLs, a valid CASTERA_WEBHOOK_SECRET: throws ConfigError otherwise. Only the
// server sends webhooks.
void check_webhook_secret(const Config& config);

// Parses "True"/"true"/"1"/"yes"/"on" and their opposites; throws ConfigError otherwise.
bool parse_bool_setting(const std::string& name, const std::string& value);

// Reads redis://[[user]:password@]host[:port][/db] (rediss:// and unix sockets are not
// supported); throws ConfigError naming CASTERA_REDIS_URL otherwise. The password may be
// percent-encoded.
Config::Redis parse_redis_url(const std::string& url);

}  // namespace castera
