// The process-wide state (App) and one event loop's own state (Loop).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>

#include "auth/auth_cache.hpp"
#include "auth/clerk.hpp"
#include "auth/credential_cache.hpp"
#include "auth/throttle.hpp"
#include "bus/room_bus.hpp"
#include "config/config.hpp"
#include "realtime/room_hub.hpp"
#include "store/store.hpp"

namespace castera {

// Shared by every event loop; everything in it is thread-safe.
struct App {
    explicit App(Config cfg, std::unique_ptr<StoreFactory> factory)
        : config(std::move(cfg)), stores(std::move(factory)) {}

    Config config;
    std::unique_ptr<StoreFactory> stores;
    CredentialCache credentials;
    RoomHub rooms;
    // Carries room events to the other instances (after `rooms`, which it delivers to).
    std::unique_ptr<RoomBus> bus = make_room_bus(config, rooms);
    // PBKDF2 takes hundreds of milliseconds: it runs here, never on an event loop.
    boost::asio::thread_pool hashing{2};
    // Clerk's verification keys (after `hashing`, whose threads refresh them).
    ClerkKeys clerk{config.clerk, hashing};
    LoginThrottle login_throttle{config.login_failures_per_account, config.login_failures_per_address,
                                 config.login_failure_window};
    RequestRateLimiter request_limiter{config.user_requests_per_minute};
    // Open WebSocket connections, for graceful shutdown and metrics.
    std::atomic<long> open_websockets{0};
};

// One event loop: its io_context and its own database connections.
struct Loop {
    App& app;
    boost::asio::io_context& io;
    std::unique_ptr<Store> store;
    // Who asked recently, as this loop's store last read it.
    AuthCache auth_cache{};
};

}  // namespace castera
