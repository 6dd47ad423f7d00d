// castera_wsload: holds many idle WebSocket connections to castera and measures what they
// cost, then fans a burst out to one room and times deliveries at a steady rate; prints the
// figures beside the targets of the real-time issue. bench/ws starts the servers and runs it.
#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>

#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "rest.hpp"
#include "scenarios.hpp"

namespace wsload {
namespace {

namespace json = boost::json;

// The targets, from the issue.
constexpr double kMaxKibPerConnection = 12;
constexpr std::size_t kMinConnections = 100000;
constexpr double kMinDeliveriesPerSecond = 1e6;
constexpr double kMaxP99InProcessMs = 2;
constexpr double kMaxP99RedisMs = 5;

struct Options {
    std::string api;
    std::string token;
    std::vector<std::string> servers;
    std::string redis_sender, redis_receiver;
    std::string reference;  // a castera_wsrelay, measured the same way
    std::size_t connections = kMinConnections;
    std::size_t room_size = 25;
    int sources = 8;
    int hold_seconds = 10;
    std::size_t receivers = 200;
    std::size_t burst = 1000;
    double rate = 25;
    double seconds = 10;
    int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    // One loop per core here too: a single loop uses less CPU for the burst, but its 200
    // receivers then wait for each other and the latency figures mostly measure the tool.
    int room_threads = threads;
    // The tool runs under SCHED_IDLE unless told otherwise: it then takes a core only when
    // castera does not want it, as a client on another machine would. On two cores its
    // receivers would otherwise hold the core castera's second event loop could send on.
    bool compete = false;
    bool skip_hold = false;
    bool skip_room = false;
    std::size_t joins = 0;  // the join-rate run: how many joins (0: none)
    std::size_t join_in_flight = 16;
    std::size_t join_history = 50;  // chats stored in its room first
    std::string json_path;
};

// "HOST:PORT" or "HOST:PORT@PID".
Server parse_server(const std::string& spec) {
    auto at = spec.find('@');
    std::string address = spec.substr(0, at);
    auto colon = address.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("expected HOST:PORT[@PID]: " + spec);
    Server s;
    s.endpoint = {boost::asio::ip::make_address(address.substr(0, colon)),
                  static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))};
    if (at != std::string::npos) s.pid = std::stoi(spec.substr(at + 1));
    return s;
}

std::vector<boost::asio::ip::address> source_addresses(int count) {
    std::vector<boost::asio::ip::address> out;
    for (int i = 1; i <= count; ++i) out.push_back(boost::asio::ip::make_address("127.0.0." + std::to_string(i)));
    return out;
}

// One line of the table, and its verdict.
struct Row {
    std::string measure, result, target, verdict;
};

std::string format(const char* fmt, auto... args) {
    char buf[256];
    std::snprintf(buf, sizeof buf, fmt, args...);
    return buf;
}

std::string verdict(bool met) { return met ? "met" : "missed"; }

double kib_per_connection(const HoldResult& h) {
    return h.opened ? static_cast<double>(h.rss_after_kib - h.rss_before_kib) / static_cast<double>(h.opened) : 0;
}

void add_hold_rows(std::vector<Row>& rows, const HoldResult& h) {
    double kib = kib_per_connection(h);
    rows.push_back({"server memory per idle connection",
                    format("%.2f KiB (RSS %+ld KiB for %zu)", kib, h.rss_after_kib - h.rss_before_kib, h.opened),
                    "<= 12 KiB", verdict(h.opened && kib <= kMaxKibPerConnection)});
    rows.push_back({"connections held (answering a ping)", format("%zu of %zu", h.answered_ping, h.asked),
                    ">= 100000", verdict(h.answered_ping >= kMinConnections)});
}

// Which way the room's messages went: the targets differ, and the reference has none.
enum class Path { in_process, redis, reference };

const char* path_name(Path p) {
    return p == Path::in_process ? "in-process" : p == Path::redis ? "Redis" : "bare relay";
}

void add_room_rows(std::vector<Row>& rows, const RoomResult& r, Path path) {
    const char* where = path_name(path);
    const auto& b = r.burst;
    bool complete = b.delivered == b.expected;
    rows.push_back({format("fan-out deliveries/s (%s)", where),
                    format("%.0f (%zu of %zu in %.1f ms)", b.per_second(), b.delivered, b.expected, b.seconds * 1e3),
                    path == Path::in_process ? ">= 1000000" : "-",
                    path == Path::in_process ? verdict(complete && b.per_second() >= kMinDeliveriesPerSecond)
                    : complete               ? "-"
                                             : "incomplete"});
    const auto& l = r.latency;
    auto spread = [&](const LatencySpread& s, std::size_t unknown) {
        if (!l.received) return format("no deliveries (0 of %zu)", l.expected);
        if (unknown) return format("no kernel receive time for %zu of %zu deliveries", unknown, l.received);
        return format("%.3f / %.3f / %.3f (max %.2f; %zu of %zu)", s.p50_ms, s.p99_ms, s.p999_ms, s.max_ms, l.received,
                      l.expected);
    };
    if (path == Path::reference) {
        rows.push_back(
            {format("latency p50/p99/p999 ms (%s)", where), spread(l.arrival, l.arrival_unknown), "-", "reference"});
        return;
    }
    double limit = path == Path::redis ? kMaxP99RedisMs : kMaxP99InProcessMs;
    auto met = [&](const LatencySpread& s, std::size_t unknown) {
        return verdict(l.received == l.expected && !unknown && s.p99_ms < limit);
    };
    std::string target = format("p99 < %.0f ms", limit);
    rows.push_back({format("latency p50/p99/p999 ms (%s)", where), spread(l.arrival, l.arrival_unknown), target,
                    met(l.arrival, l.arrival_unknown)});
    rows.push_back({"  the same, to the tool's read", spread(l.read, 0), target, met(l.read, 0) + " (with the tool)"});
}

void print_table(const std::vector<Row>& rows, const std::vector<std::string>& notes) {
    std::printf("\n%-40s %-56s %-12s %s\n", "measure", "result", "target", "verdict");
    for (const auto& r : rows)
        std::printf("%-40s %-56s %-12s %s\n", r.measure.c_str(), r.result.c_str(), r.target.c_str(), r.verdict.c_str());
    for (const auto& n : notes) std::printf("  %s\n", n.c_str());
}

double cpu_us_per_delivery(const BurstResult& b) {
    return b.delivered ? b.server_cpu_seconds * 1e6 / static_cast<double>(b.delivered) : 0;
}

// Where the time goes: CPU the server spent per delivery, and a message's first and last
// delivery (the path through the server, then the spread over the room).
void add_room_notes(std::vector<std::string>& notes, const RoomResult& r, const char* where,
                    const char* server = "castera") {
    notes.push_back(format("%s burst: %s used %.2f CPU-s (%.1f us per delivery), the tool %.2f CPU-s", where, server,
                           r.burst.server_cpu_seconds, cpu_us_per_delivery(r.burst), r.burst.tool_cpu_seconds));
    notes.push_back(format("%s latency: per message, first delivery p50 %.3f ms, last delivery p50 %.3f ms "
                           "(to the read: %.3f, %.3f)",
                           where, r.latency.arrival.first_p50_ms, r.latency.arrival.last_p50_ms,
                           r.latency.read.first_p50_ms, r.latency.read.last_p50_ms));
}

json::object hold_json(const HoldResult& h) {
    return {{"asked", h.asked},
            {"opened", h.opened},
            {"refused", h.refused},
            {"refusal_status", h.refusal_status},
            {"connect_failed", h.connect_failed},
            {"timed_out", h.timed_out},
            {"answered_ping", h.answered_ping},
            {"closed_by_server", h.closed_by_server},
            {"server_rss_before_kib", h.rss_before_kib},
            {"server_rss_after_kib", h.rss_after_kib},
            {"kib_per_connection", kib_per_connection(h)},
            {"server_fds_before", h.server_fds_before},
            {"server_fds_after", h.server_fds_after},
            {"tool_processes", h.processes},
            {"tool_rss_kib", h.tool_rss_kib}};
}

json::object spread_json(const LatencySpread& s) {
    json::array per_message;
    for (auto [first, last] : s.per_message_ms) per_message.push_back(json::array{first, last});
    return {{"p50_ms", s.p50_ms},
            {"p99_ms", s.p99_ms},
            {"p999_ms", s.p999_ms},
            {"max_ms", s.max_ms},
            {"first_delivery_p50_ms", s.first_p50_ms},
            {"last_delivery_p50_ms", s.last_p50_ms},
            {"per_message_first_last_ms", std::move(per_message)}};
}

json::object room_json(const RoomResult& r) {
    const auto& b = r.burst;
    const auto& l = r.latency;
    return {{"receivers_opened", r.receivers_opened},
            {"burst", {{"expected", b.expected}, {"delivered", b.delivered}, {"seconds", b.seconds},
                       {"deliveries_per_second", b.per_second()}, {"receivers_dropped", b.dropped},
                       {"server_cpu_seconds", b.server_cpu_seconds}, {"tool_cpu_seconds", b.tool_cpu_seconds},
                       {"server_cpu_us_per_delivery", cpu_us_per_delivery(b)}}},
            {"latency", {{"sent", l.sent}, {"expected", l.expected}, {"received", l.received},
                         {"to_arrival", spread_json(l.arrival)}, {"arrival_unknown", l.arrival_unknown},
                         {"to_read", spread_json(l.read)}, {"receivers_dropped", l.dropped}}}};
}

json::object conditions_json(const Options& o) {
    rlimit fds{};
    ::getrlimit(RLIMIT_NOFILE, &fds);
    return {{"cores", std::thread::hardware_concurrency()},
            {"fd_limit_per_process", fds.rlim_max},
            {"server_processes_holding", o.servers.size()},
            {"tool_threads_idle", o.threads},
            {"tool_threads_room", o.room_threads},
            {"connections_asked", o.connections},
            {"room_size", o.room_size},
            {"source_addresses", o.sources},
            {"hold_seconds", o.hold_seconds},
            {"receivers", o.receivers},
            {"burst", o.burst},
            {"rate_per_second", o.rate},
            {"latency_seconds", o.seconds},
            {"tool_scheduling", ::sched_getscheduler(0) == SCHED_IDLE ? "SCHED_IDLE" : "normal"}};
}

json::array table_json(const std::vector<Row>& rows) {
    json::array out;
    for (const auto& r : rows)
        out.push_back({{"measure", r.measure}, {"result", r.result}, {"target", r.target}, {"verdict", r.verdict}});
    return out;
}

RoomResult room_run(const Options& o, const Server& sender, const Server& receiver) {
    RoomPlan plan{.sender = sender, .receiver = receiver, .token = o.token, .receivers = o.receivers,
                  .burst = o.burst, .rate = o.rate, .seconds = o.seconds, .threads = o.room_threads};
    plan.room = create_rooms(parse_server(o.api).endpoint, o.token, 1).front();
    return run_room(plan);
}

HoldResult hold_run(const Options& o) {
    HoldPlan plan{.room_size = o.room_size, .sources = source_addresses(o.sources), .token = o.token,
                  .connections = o.connections, .hold_seconds = o.hold_seconds, .threads = o.threads};
    for (const auto& s : o.servers) plan.servers.push_back(parse_server(s));
    std::fprintf(stderr, "wsload: creating %zu rooms\n", (o.connections + o.room_size - 1) / o.room_size);
    plan.rooms = create_rooms(parse_server(o.api).endpoint, o.token, (o.connections + o.room_size - 1) / o.room_size);
    std::fprintf(stderr, "wsload: opening %zu idle connections\n", o.connections);
    return run_hold(plan);
}

// SCHED_IDLE for this thread and every thread and process started from it.
void yield_cores_to_castera() {
    sched_param none{};
    if (::sched_setscheduler(0, SCHED_IDLE, &none) != 0)
        std::fprintf(stderr, "wsload: could not switch to SCHED_IDLE (%s); the tool competes for the cores\n",
                     std::strerror(errno));
}

int run(const Options& o) {
    if (!o.compete) yield_cores_to_castera();
    std::vector<Row> rows;
    std::vector<std::string> notes;
    json::object out{{"conditions", conditions_json(o)}};
    if (!o.skip_hold) {
        HoldResult h = hold_run(o);  // first: it forks, and must do so before any thread exists
        add_hold_rows(rows, h);
        double tool_kib = h.opened ? static_cast<double>(h.tool_rss_kib) / static_cast<double>(h.opened) : 0.0;
        notes.push_back(format("idle connections: castera fds %ld -> %ld; the tool held them in %d process(es), "
                               "%.2f KiB of its RSS per connection",
                               h.server_fds_before, h.server_fds_after, h.processes, tool_kib));
        out["hold"] = hold_json(h);
    }
    if (!o.skip_room) {
        std::fprintf(stderr, "wsload: fan-out and latency in one process\n");
        Server local = parse_server(o.servers.front());
        RoomResult r = room_run(o, local, local);
        add_room_rows(rows, r, Path::in_process);
        add_room_notes(notes, r, "in-process");
        out["in_process"] = room_json(r);
    }
    // After castera's in-process run, so that castera's run keeps its place after the hold.
    if (!o.skip_room && !o.reference.empty()) {
        std::fprintf(stderr, "wsload: fan-out and latency through the bare relay (the reference)\n");
        Server relay = parse_server(o.reference);
        RoomResult r = room_run(o, relay, relay);
        add_room_rows(rows, r, Path::reference);
        add_room_notes(notes, r, "bare relay", "the relay");
        out["reference"] = room_json(r);
    }
    if (!o.skip_room && !o.redis_sender.empty()) {
        std::fprintf(stderr, "wsload: fan-out and latency through Redis\n");
        RoomResult r = room_run(o, parse_server(o.redis_sender), parse_server(o.redis_receiver));
        add_room_rows(rows, r, Path::redis);
        add_room_notes(notes, r, "Redis");
        out["redis"] = room_json(r);
    }
    if (o.joins > 0) {
        std::fprintf(stderr, "wsload: %zu joins, %zu at a time, to a room with %zu chats\n", o.joins, o.join_in_flight,
                     o.join_history);
        JoinPlan plan{.server = parse_server(o.servers.front()), .token = o.token, .joins = o.joins,
                      .in_flight = o.join_in_flight, .threads = o.room_threads};
        plan.room = create_rooms(parse_server(o.api).endpoint, o.token, 1).front();
        post_messages(parse_server(o.api).endpoint, o.token, plan.room, o.join_history);
        JoinResult j = run_joins(plan);
        double us = j.welcomed ? j.server_cpu_seconds * 1e6 / static_cast<double>(j.welcomed) : 0;
        rows.push_back({format("join rate (castera.v2, %zu chats stored)", o.join_history),
                        format("%.0f joins/s (%zu of %zu; p50 %.2f ms, p99 %.2f ms)", j.per_second(), j.welcomed,
                               j.asked, j.p50_ms, j.p99_ms),
                        "-", j.failed ? "incomplete" : "-"});
        notes.push_back(format("joins: castera used %.2f CPU-s (%.0f us per join); welcome %zu bytes",
                               j.server_cpu_seconds, us, j.welcome_bytes));
        out["joins"] = {{"asked", j.asked}, {"welcomed", j.welcomed}, {"failed", j.failed}, {"seconds", j.seconds},
                        {"joins_per_second", j.per_second()}, {"p50_ms", j.p50_ms}, {"p99_ms", j.p99_ms},
                        {"server_cpu_seconds", j.server_cpu_seconds}, {"server_cpu_us_per_join", us},
                        {"welcome_bytes", j.welcome_bytes}, {"in_flight", o.join_in_flight},
                        {"history", o.join_history}};
    }
    print_table(rows, notes);
    out["table"] = table_json(rows);
    if (!o.json_path.empty()) std::ofstream(o.json_path) << json::serialize(out) << "\n";
    return 0;
}

}  // namespace
}  // namespace wsload

int main(int argc, char** argv) {
    wsload::Options o;
    CLI::App app{"castera_wsload: WebSocket load for castera (idle connections, fan-out, latency)"};
    app.add_option("--api", o.api, "HOST:PORT of castera's REST API, for creating rooms")->required();
    app.add_option("--token", o.token, "an API token (POST /api/auth/tokens/)")->required();
    app.add_option("--server", o.servers,
                   "HOST:PORT@PID of a castera process; idle connections are spread over all of them, and the "
                   "first also serves the in-process fan-out")
        ->required();
    app.add_option("--redis-sender", o.redis_sender, "HOST:PORT@PID of the instance the sender joins through Redis");
    app.add_option("--redis-receiver", o.redis_receiver, "HOST:PORT@PID of the instance the receivers join");
    app.add_option("--reference", o.reference,
                   "HOST:PORT@PID of a castera_wsrelay: the fan-out and latency runs through it too, after "
                   "castera's in-process ones, as the machine's reference");
    app.add_option("--connections", o.connections, "idle connections to hold");
    app.add_option("--room-size", o.room_size, "idle connections per room");
    app.add_option("--sources", o.sources, "source addresses 127.0.0.1..127.0.0.N")->check(CLI::Range(1, 254));
    app.add_option("--hold-seconds", o.hold_seconds, "how long the idle connections sit before the ping");
    app.add_option("--receivers", o.receivers, "receivers in the fan-out room");
    app.add_option("--burst", o.burst, "messages in the burst");
    app.add_option("--rate", o.rate, "messages a second in the latency run")->check(CLI::PositiveNumber);
    app.add_option("--seconds", o.seconds, "length of the latency run")->check(CLI::PositiveNumber);
    app.add_option("--threads", o.threads, "event loops of the tool for the idle connections")
        ->check(CLI::Range(1, 256));
    app.add_option("--room-threads", o.room_threads, "event loops of the tool for the fan-out and latency runs")
        ->check(CLI::Range(1, 256));
    app.add_flag("--compete", o.compete, "run under the normal scheduling policy, not SCHED_IDLE");
    app.add_flag("--skip-hold", o.skip_hold, "no idle connections");
    app.add_flag("--skip-room", o.skip_room, "no fan-out or latency run");
    app.add_option("--joins", o.joins, "the join-rate run: this many castera.v2 joins (connect, welcome, close)");
    app.add_option("--join-in-flight", o.join_in_flight, "joins under way at once in the join-rate run")
        ->check(CLI::Range(1, 1024));
    app.add_option("--join-history", o.join_history, "chats stored in the join-rate run's room before it");
    app.add_option("--json", o.json_path, "also write the results here");
    CLI11_PARSE(app, argc, argv);
    if (o.redis_sender.empty() != o.redis_receiver.empty()) {
        std::cerr << "wsload: --redis-sender and --redis-receiver go together\n";
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);  // a peer gone mid-write is an error code, not a death
    try {
        return wsload::run(o);
    } catch (const std::exception& e) {
        std::cerr << "wsload: " << e.what() << "\n";
        return 1;
    }
}
