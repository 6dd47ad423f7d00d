// The process-wide state (App) and one event loop's own state (Loop).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>

#include "auth/credential_cache.hpp"
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
    // PBKDF2 takes hundreds of milliseconds: it runs here, never on an event loop.
    boost::asio::thread_pool hashing{2};
    // Open WebSocket connections, for graceful shutdown and metrics.
    std::atomic<long> open_websockets{0};
};

// One event loop: its io_context and its own database connections.
struct Loop {
    App& app;
    boost::asio::io_context& io;
    std::unique_ptr<Store> store;
};

}  // namespace castera
