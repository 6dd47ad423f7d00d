// Counters: what castera has done and holds, kept where it happens and summed when asked
// (a metrics scrape, a graceful stop). Each event loop owns a LoopCounters that only its own
// thread changes: a relaxed load and store, no lock and no read-modify-write shared between
// cores, so counting costs a request nothing measurable. Counters touched by any thread (the
// Redis bus's, the throttle's) are plain atomics in ProcessCounters. The CounterRegistry, owned
// by the App, holds them all.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>

#include "observe/http_metrics.hpp"
#include "observe/loop_counter.hpp"

namespace castera {

// One event loop's counters.
struct LoopCounters {
    LoopGauge requests_in_flight;        // HTTP requests being handled
    LoopGauge websockets_compat;         // open WebSockets, old protocol
    LoopGauge websockets_typed;          // open WebSockets, castera.v2
    LoopCounter ws_frames_received;
    LoopCounter ws_frames_sent;
    LoopCounter ws_dropped_slow_reader;  // closed: outbound queue overflow
    LoopCounter ws_dropped_rate_limit;   // frames refused (or closed) over the rate limit
    LoopCounter ws_dropped_frame_size;   // closed: a frame over the size limit
    LoopCounter chats_stored;            // chat messages written, REST and WebSocket
    LoopCounter db_errors;               // store failures seen by a request or a session
    LoopCounter login_throttled;         // password logins refused by the throttle
    LoopCounter errors_logged;           // unexpected exceptions caught and logged
    LoopGauge db_statements_in_flight;   // store calls sent and not yet answered
    HttpMetrics http;                    // requests by route, method and status; latency
};

// Counters changed from any thread.
struct ProcessCounters {
    std::atomic<std::uint64_t> bus_reconnects{0};
    std::atomic<std::uint64_t> bus_events_dropped{0};     // not published: Redis away or too slow
    std::atomic<std::uint64_t> bus_messages_malformed{0};
    std::atomic<std::uint64_t> log_lines_dropped{0};
    std::atomic<std::int64_t> connections_open{0};      // HTTP and WebSocket, accepted and not closed
    std::atomic<std::uint64_t> connections_shed{0};     // refused with 503: over the limit
    std::atomic<std::int64_t> connections_lingering{0};  // shed, reading the client's last bytes
};

// The sum of every loop's counters.
struct CounterTotals {
    std::int64_t requests_in_flight = 0;
    std::int64_t websockets_compat = 0;
    std::int64_t websockets_typed = 0;
    std::uint64_t ws_frames_received = 0;
    std::uint64_t ws_frames_sent = 0;
    std::uint64_t ws_dropped_slow_reader = 0;
    std::uint64_t ws_dropped_rate_limit = 0;
    std::uint64_t ws_dropped_frame_size = 0;
    std::uint64_t chats_stored = 0;
    std::uint64_t db_errors = 0;
    std::uint64_t login_throttled = 0;
    std::uint64_t errors_logged = 0;
    std::int64_t db_statements_in_flight = 0;

    std::int64_t websockets() const { return websockets_compat + websockets_typed; }
};

class CounterRegistry {
public:
    // A new loop's counters; they live as long as the registry.
    LoopCounters& add_loop() {
        std::lock_guard lock(mutex_);
        return loops_.emplace_back();
    }

    CounterTotals totals() const {
        CounterTotals t;
        std::lock_guard lock(mutex_);
        for (const LoopCounters& c : loops_) {
            t.requests_in_flight += c.requests_in_flight.value();
            t.websockets_compat += c.websockets_compat.value();
            t.websockets_typed += c.websockets_typed.value();
            t.ws_frames_received += c.ws_frames_received.value();
            t.ws_frames_sent += c.ws_frames_sent.value();
            t.ws_dropped_slow_reader += c.ws_dropped_slow_reader.value();
            t.ws_dropped_rate_limit += c.ws_dropped_rate_limit.value();
            t.ws_dropped_frame_size += c.ws_dropped_frame_size.value();
            t.chats_stored += c.chats_stored.value();
            t.db_errors += c.db_errors.value();
            t.login_throttled += c.login_throttled.value();
            t.errors_logged += c.errors_logged.value();
            t.db_statements_in_flight += c.db_statements_in_flight.value();
        }
        return t;
    }

    // Calls `f(const LoopCounters&)` for each loop (a scrape sums what it needs).
    template <typename F>
    void for_each_loop(F&& f) const {
        std::lock_guard lock(mutex_);
        for (const LoopCounters& c : loops_) f(c);
    }

    ProcessCounters process;

private:
    mutable std::mutex mutex_;
    std::deque<LoopCounters> loops_;  // a deque: adding one never moves the others
};

}  // namespace castera
