// The configuration the App-driven fuzz targets run with: every optional part that a request
// can reach turned on (Clerk JWTs with the corpora's key, TURN credentials, webhooks' outbox,
// a metrics token, an allowed origin), and nothing that would make inputs interfere (the login
// throttle out of reach, one loop).
#pragma once

#include "config/config.hpp"
#include "fuzz_world.hpp"

namespace castera::fuzz {

// Seeds refer to these values: the metrics token, the origin, the TURN secret.
inline Config app_config() {
    Config c;
    c.threads = 1;
    c.secret_key = "fuzz-secret-key-0123456789abcdefghijklmnopqrstuvwxyz";
    c.password_iterations = kPasswordIterations;
    c.login_failures_per_account = 1 << 30;
    c.login_failures_per_address = 1 << 30;
    c.allowed_origins = {"https://castera.example.com"};
    c.metrics_token = "fuzz-metrics-token";
    c.clerk.public_key_pem = std::string(kJwtPublicKey);
    c.ice.stun_urls = {"stun:stun.example.com:3478"};
    c.ice.turn_urls = {"turn:turn.example.com:3478"};
    c.ice.turn_secret = "fuzz-turn-secret";
    c.webhooks.urls = {"https://hooks.example.com/castera"};
    return c;
}

}  // namespace castera::fuzz
