#include "app/metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>

#include "api/router.hpp"
#include "app/app.hpp"
#include "observe/prometheus.hpp"

namespace castera {
namespace {

using prometheus::Exposition;

// What the kernel says of this process.
struct ProcessFigures {
    std::uint64_t resident_bytes = 0;
    std::uint64_t virtual_bytes = 0;
    std::uint64_t open_fds = 0;
    std::uint64_t max_fds = 0;
    double cpu_seconds = 0;
};

ProcessFigures read_process() {
    ProcessFigures p;
    std::ifstream statm("/proc/self/statm");
    std::uint64_t pages = 0, resident = 0;
    if (statm >> pages >> resident) {
        auto page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
        p.virtual_bytes = pages * page;
        p.resident_bytes = resident * page;
    }
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++p.open_fds;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) p.max_fds = limit.rlim_cur;
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) == 0)
        p.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                        static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    return p;
}

std::string_view route_label(std::size_t r) { return api::route_label(r); }

// castera_http_requests_total and castera_http_request_duration_seconds, summed over the loops;
// only the series that have seen a request.
void write_http(Exposition& out, const CounterRegistry& registry) {
    constexpr std::size_t routes = HttpMetrics::kMaxRoutes;
    constexpr std::size_t methods = HttpMetrics::kMethods.size() + 1;
    constexpr std::size_t statuses = HttpMetrics::kStatuses.size() + 1;
    constexpr std::size_t buckets = HttpMetrics::kBuckets.size() + 1;
    std::vector<std::uint64_t> requests(routes * methods * statuses, 0);
    std::vector<std::uint64_t> latency(routes * buckets, 0), sum_us(routes, 0);
    registry.for_each_loop([&](const LoopCounters& loop) {
        for (std::size_t r = 0; r < routes; ++r) {
            for (std::size_t m = 0; m < methods; ++m)
                for (std::size_t s = 0; s < statuses; ++s)
                    requests[(r * methods + m) * statuses + s] += loop.http.requests(r, m, s);
            for (std::size_t b = 0; b < buckets; ++b) latency[r * buckets + b] += loop.http.bucket(r, b);
            sum_us[r] += loop.http.sum_us(r);
        }
    });

    out.family("castera_http_requests_total", "counter", "HTTP requests answered, by route template, method and status.");
    for (std::size_t r = 0; r < routes; ++r)
        for (std::size_t m = 0; m < methods; ++m)
            for (std::size_t s = 0; s < statuses; ++s) {
                std::uint64_t n = requests[(r * methods + m) * statuses + s];
                if (n == 0) continue;
                std::string method(m < HttpMetrics::kMethods.size() ? HttpMetrics::kMethods[m] : "other");
                std::string status = s < HttpMetrics::kStatuses.size() ? std::to_string(HttpMetrics::kStatuses[s]) : "other";
                out.sample("castera_http_requests_total", {{"method", method}, {"route", route_label(r)}, {"status", status}}, n);
            }

    out.family("castera_http_request_duration_seconds", "histogram",
               "Time from a request's header read to its response ready, by route template.");
    for (std::size_t r = 0; r < routes; ++r) {
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < buckets; ++b) cumulative += latency[r * buckets + b];
        if (cumulative == 0) continue;
        std::uint64_t running = 0;
        for (std::size_t b = 0; b < buckets; ++b) {
            running += latency[r * buckets + b];
            std::string le = b < HttpMetrics::kBuckets.size() ? std::to_string(HttpMetrics::kBuckets[b]) : "+Inf";
            // to_string gives six decimals; trim the zeros for readable bounds (0.000500 -> 0.0005).
            if (le != "+Inf") {
                le.erase(le.find_last_not_of('0') + 1);
                if (le.back() == '.') le.pop_back();
            }
            out.sample("castera_http_request_duration_seconds_bucket", {{"route", route_label(r)}, {"le", le}}, running);
        }
        out.sample("castera_http_request_duration_seconds_sum", {{"route", route_label(r)}},
                   static_cast<double>(sum_us[r]) / 1e6);
        out.sample("castera_http_request_duration_seconds_count", {{"route", route_label(r)}}, cumulative);
    }
}

void write_counters(Exposition& out, const CounterTotals& t, const ProcessCounters& p) {
    out.family("castera_http_requests_in_flight", "gauge", "HTTP requests being handled.");
    out.sample("castera_http_requests_in_flight", {}, t.requests_in_flight);
    out.family("castera_http_connections", "gauge", "Open client connections, HTTP and WebSocket.");
    out.sample("castera_http_connections", {}, p.connections_open.load(std::memory_order_relaxed));
    out.family("castera_http_connections_shed_total", "counter",
               "Connections refused with 503 because castera held its most (CASTERA_MAX_CONNECTIONS).");
    out.sample("castera_http_connections_shed_total", {}, p.connections_shed.load(std::memory_order_relaxed));
    out.family("castera_websocket_connections", "gauge", "Open WebSocket connections, by protocol.");
    out.sample("castera_websocket_connections", {{"protocol", "compat"}}, t.websockets_compat);
    out.sample("castera_websocket_connections", {{"protocol", "castera.v2"}}, t.websockets_typed);
    out.family("castera_ws_frames_received_total", "counter", "WebSocket messages received from clients.");
    out.sample("castera_ws_frames_received_total", {}, t.ws_frames_received);
    out.family("castera_ws_frames_sent_total", "counter", "WebSocket messages sent to clients.");
    out.sample("castera_ws_frames_sent_total", {}, t.ws_frames_sent);
    out.family("castera_ws_dropped_total", "counter",
               "WebSocket connections closed or frames refused, by reason (slow reader, rate limit, frame size).");
    out.sample("castera_ws_dropped_total", {{"reason", "slow_reader"}}, t.ws_dropped_slow_reader);
    out.sample("castera_ws_dropped_total", {{"reason", "rate_limit"}}, t.ws_dropped_rate_limit);
    out.sample("castera_ws_dropped_total", {{"reason", "frame_size"}}, t.ws_dropped_frame_size);
    out.family("castera_chats_stored_total", "counter", "Chat messages stored, over REST and WebSocket.");
    out.sample("castera_chats_stored_total", {}, t.chats_stored);
    out.family("castera_db_statements_in_flight", "gauge", "Store statements and commits sent and not yet answered.");
    out.sample("castera_db_statements_in_flight", {}, t.db_statements_in_flight);
    out.family("castera_db_errors_total", "counter", "Store failures met by a request or a room session.");
    out.sample("castera_db_errors_total", {}, t.db_errors);
    out.family("castera_login_throttled_total", "counter", "Password sign-ins refused by the login throttle.");
    out.sample("castera_login_throttled_total", {}, t.login_throttled);
    out.family("castera_errors_logged_total", "counter", "Unexpected exceptions caught and logged.");
    out.sample("castera_errors_logged_total", {}, t.errors_logged);
    out.family("castera_bus_reconnects_total", "counter", "Reconnections to Redis after the first connection.");
    out.sample("castera_bus_reconnects_total", {}, p.bus_reconnects.load(std::memory_order_relaxed));
    out.family("castera_bus_events_dropped_total", "counter", "Room events not published to Redis (away or too slow).");
    out.sample("castera_bus_events_dropped_total", {}, p.bus_events_dropped.load(std::memory_order_relaxed));
    out.family("castera_bus_messages_malformed_total", "counter", "Messages from Redis that could not be read.");
    out.sample("castera_bus_messages_malformed_total", {}, p.bus_messages_malformed.load(std::memory_order_relaxed));
    out.family("castera_log_lines_dropped_total", "counter", "Log lines dropped because the log writer fell behind.");
    out.sample("castera_log_lines_dropped_total", {}, p.log_lines_dropped.load(std::memory_order_relaxed));
}

void write_process(Exposition& out, std::chrono::system_clock::time_point started) {
    ProcessFigures p = read_process();
    out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    out.sample("process_resident_memory_bytes", {}, p.resident_bytes);
    out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    out.sample("process_virtual_memory_bytes", {}, p.virtual_bytes);
    out.family("process_open_fds", "gauge", "Number of open file descriptors.");
    out.sample("process_open_fds", {}, p.open_fds);
    out.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
    out.sample("process_max_fds", {}, p.max_fds);
    out.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    out.sample("process_cpu_seconds_total", {}, p.cpu_seconds);
    out.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    auto since_epoch = std::chrono::duration<double>(started.time_since_epoch()).count();
    out.sample("process_start_time_seconds", {}, since_epoch);
}

}  // namespace

std::string AppMetrics::exposition() const {
    Exposition out;
    write_http(out, app_.counters);
    write_counters(out, app_.counters.totals(), app_.counters.process);
    out.family("castera_rooms", "gauge", "Meeting rooms with at least one connection on this instance.");
    out.sample("castera_rooms", {}, static_cast<std::uint64_t>(app_.rooms.room_count()));
    BusState bus = app_.bus->state();
    out.family("castera_bus_connected", "gauge",
               "1 when rooms reach every instance (Redis connected, or one instance with the in-process bus), else 0.");
    out.sample("castera_bus_connected", {{"bus", bus == BusState::local ? "local" : "redis"}},
               static_cast<std::uint64_t>(bus == BusState::down ? 0 : 1));
    write_process(out, started_);
    return out.take();
}

std::string_view AppMetrics::bearer_token() const { return app_.config.metrics_token; }

}  // namespace castera
