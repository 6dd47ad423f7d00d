// The measurements: idle connections held (and the server memory they cost), a fan-out
// burst, and delivery latency at a steady rate.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wsload {

// A castera process: where it listens and its pid (for /proc).
struct Server {
    boost::asio::ip::tcp::endpoint endpoint;
    pid_t pid = 0;
};

struct HoldPlan {
    std::vector<Server> servers;  // connection i goes to servers[i % servers.size()]
    std::vector<std::string> rooms;
    std::size_t room_size = 25;
    std::vector<boost::asio::ip::address> sources;
    std::string token;
    std::size_t connections = 0;
    int hold_seconds = 10;
    int threads = 1;
};

struct HoldResult {
    std::size_t asked = 0;
    std::size_t opened = 0;
    std::size_t refused = 0;         // the server answered something else than 101
    std::size_t connect_failed = 0;  // no TCP connection or no answer
    std::size_t timed_out = 0;
    int refusal_status = 0;          // the status of one refusal, for the report
    std::size_t answered_ping = 0;   // still open and answering after the hold
    std::size_t closed_by_server = 0;
    long rss_before_kib = 0;
    long rss_after_kib = 0;
    long server_fds_before = 0;
    long server_fds_after = 0;
    int processes = 0;  // how many processes of the tool held the connections
    long tool_rss_kib = 0;  // theirs together, once every connection was open
};

// Opens the idle connections (across child processes when one cannot hold them all under the
// descriptor limit), holds them, checks each still answers a ping, and measures the servers'
// memory before and after.
HoldResult run_hold(const HoldPlan& plan);

struct RoomPlan {
    Server sender;    // where the one sender connects
    Server receiver;  // where the receivers connect (another instance: through the bus)
    std::string room;
    std::string token;
    std::size_t receivers = 200;
    std::size_t burst = 1000;
    double rate = 25;          // messages a second in the latency run
    double seconds = 10;       // length of the latency run
    int threads = 2;
};

struct BurstResult {
    std::size_t expected = 0;
    std::size_t delivered = 0;
    double seconds = 0;  // from the first send to the last delivery (or the give-up time)
    std::size_t dropped = 0;
    double server_cpu_seconds = 0;  // what the castera processes used meanwhile
    double tool_cpu_seconds = 0;
    double per_second() const { return seconds > 0 ? delivered / seconds : 0; }
};

// The latencies of every delivery, in milliseconds.
struct LatencySpread {
    double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
    // Medians over messages of their first and last delivery: the path through the server,
    // and that plus the spread of one message over all receivers.
    double first_p50_ms = 0, last_p50_ms = 0;
    // Each message's first and last delivery, in the order sent (-1 when none arrived): shows
    // whether a tail is a few slow messages or the spread of every one.
    std::vector<std::pair<double, double>> per_message_ms;
};

struct LatencyResult {
    std::size_t sent = 0;
    std::size_t expected = 0;
    std::size_t received = 0;
    std::size_t dropped = 0;
    // Up to the frame's arrival in the receiver's socket (the kernel's receive time): what
    // castera took, whatever the tool does meanwhile.
    LatencySpread arrival;
    std::size_t arrival_unknown = 0;  // deliveries the kernel gave no receive time for
    // Up to the tool reading the frame: adds the tool's own receive work, on the same cores.
    LatencySpread read;
};

struct RoomResult {
    std::size_t receivers_opened = 0;
    BurstResult burst;
    LatencyResult latency;
};

// Opens the receivers and the sender in one room, then runs the burst and the latency run.
RoomResult run_room(const RoomPlan& plan);

struct JoinPlan {
    Server server;
    std::string room;
    std::string token;
    std::size_t joins = 2000;   // castera.v2 joins, one after another on each of `in_flight` lanes
    std::size_t in_flight = 16;
    int threads = 2;
};

struct JoinResult {
    std::size_t asked = 0;
    std::size_t welcomed = 0;
    std::size_t failed = 0;
    double seconds = 0;
    double p50_ms = 0, p99_ms = 0;  // connect to welcome
    double server_cpu_seconds = 0;
    std::size_t welcome_bytes = 0;  // of the last welcome
    double per_second() const { return seconds > 0 ? welcomed / seconds : 0; }
};

// The join rate: each lane connects, upgrades, waits for the welcome, closes with a close
// frame (a client that leaves), and goes again.
JoinResult run_joins(const JoinPlan& plan);

// "/ws/meetings/<room>/?access_token=<token>".
std::string ws_path(const std::string& room, const std::string& token);

}  // namespace wsload
