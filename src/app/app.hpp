// The composition root: App owns what the whole process shares, and makes one Loop (an event
// loop's own parts) per thread. Only main/cli and the server see these; every part below
// them takes the narrow references it needs (services::Deps, Authenticator::Deps,
// api::ApiDeps, realtime::RoomDeps), which is what makes them testable alone.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>

#include "api/context.hpp"
#include "app/metrics.hpp"
#include "auth/auth_cache.hpp"
#include "auth/authenticate.hpp"
#include "auth/clerk.hpp"
#include "auth/credential_cache.hpp"
#include "auth/origin_policy.hpp"
#include "auth/sessions.hpp"
#include "auth/throttle.hpp"
#include "bus/room_bus.hpp"
#include "config/config.hpp"
#include "events/events.hpp"
#include "observe/counters.hpp"
#include "realtime/room_fanout.hpp"
#include "realtime/room_hub.hpp"
#include "realtime/room_roster.hpp"
#include "realtime/room_session.hpp"
#include "services/services.hpp"
#include "store/store.hpp"
#include "webhooks/outbox.hpp"
#include "webhooks/worker.hpp"

namespace castera {

struct Loop;

// Shared by every event loop; everything in it is thread-safe.
struct App {
    App(Config cfg, std::unique_ptr<StoreFactory> factory);
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    // The parts of one event loop, for the loop that calls it.
    std::unique_ptr<Loop> make_loop(boost::asio::io_context& io);
    // Starts the webhook delivery worker on this loop (serve only; nothing without endpoints).
    void start_webhooks(Loop& loop);
    // Once the loops no longer run, and before they and their io_contexts go: what answers
    // through them ends first. The password checks handed to `hashing` finish (each holds
    // its loop's executor), and the webhook worker goes (its timer and store are a loop's).
    void stop_loop_work();

    Config config;
    std::unique_ptr<StoreFactory> stores;
    CounterRegistry counters;
    CredentialCache credentials;
    RoomHub rooms;
    // Carries room events to the other instances (after `rooms`, which it delivers to).
    std::unique_ptr<RoomBus> bus;
    // PBKDF2 takes hundreds of milliseconds: it runs here, never on an event loop.
    boost::asio::thread_pool hashing{2};
    services::PasswordHasher passwords;
    // Clerk's verification keys (after `hashing`, whose threads refresh them).
    ClerkKeys clerk;
    LoginThrottle login_throttle;
    RequestRateLimiter request_limiter;
    OriginPolicy origins;
    CookieSettings cookies;
    realtime::RoomLimits room_limits;
    // Where the use cases' events go: the rooms (on every instance, through the bus).
    realtime::RoomFanout room_fanout;
    // And the webhook outbox, when endpoints are configured; its worker runs in `serve` only.
    webhooks::Outbox outbox;
    std::unique_ptr<webhooks::Worker> webhook_worker;
    events::EventFanout events;
    realtime::RoomRoster roster;
    // What /metrics shows (last: it reads the members above).
    AppMetrics metrics{*this};
};

// One event loop: its io_context, its own database connections, and the services on them.
struct Loop {
    Loop(App& app, boost::asio::io_context& io);
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    boost::asio::io_context& io;
    LoopCounters& counters;
    std::unique_ptr<Store> store;
    // Who asked recently, as this loop's store last read it.
    AuthCache auth_cache;
    services::Services services;
    Authenticator authenticator;
    api::ApiDeps api;
    realtime::RoomDeps rooms;
};

// Runs one coroutine to completion on an io_context of its own (the command line, tests).
template <typename T>
T run_sync(Task<T> task);

}  // namespace castera

#include <boost/asio/co_spawn.hpp>

#include <exception>
#include <optional>

template <typename T>
T castera::run_sync(Task<T> task) {
    boost::asio::io_context io;
    std::exception_ptr failure;
    if constexpr (std::is_void_v<T>) {
        boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) { failure = e; });
        io.run();
        if (failure) std::rethrow_exception(failure);
    } else {
        // co_spawn wants a result it can default-construct: an optional, whatever T is.
        std::optional<T> result;
        auto wrapped = [](Task<T> inner) -> Task<std::optional<T>> { co_return co_await std::move(inner); };
        boost::asio::co_spawn(io, wrapped(std::move(task)), [&](std::exception_ptr e, std::optional<T> value) {
            failure = e;
            result = std::move(value);
        });
        io.run();
        if (failure) std::rethrow_exception(failure);
        return std::move(*result);
    }
}
