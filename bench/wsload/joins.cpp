// The join rate: how many castera.v2 joins a second one castera serves, each a TCP connect,
// an upgrade (authenticated by the API token in the query string), the welcome (the room, its
// participants with their state, the last chats), then a close frame and the leave. A few
// lanes go one join after another; the room stays small (the lanes' own connections), so the
// figure is the join's own cost, not a room's fan-out.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "proc.hpp"
#include "scenarios.hpp"
#include "ws_conn.hpp"

namespace wsload {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kOpenTimeout{20};
constexpr std::chrono::seconds kWelcomeWait{20};
constexpr std::chrono::seconds kCloseWait{5};

// One lane: its connection of the moment, and the welcome it waits for.
struct Lane final : Listener {
    explicit Lane(Worker& worker) : worker(worker), timer(worker.io) {}

    void on_text(WsConn&, std::string_view payload) override {
        if (!payload.starts_with(R"({"type":"welcome")")) return;
        welcomed = true;
        welcome_bytes = payload.size();
        timer.cancel();
    }
    void on_closed(WsConn&) override {
        closed = true;
        timer.cancel();
    }

    Worker& worker;
    boost::asio::steady_timer timer;
    bool welcomed = false;
    bool closed = false;
    std::size_t welcome_bytes = 0;
    std::vector<std::int64_t> latencies_ns;
    std::size_t failed = 0;
};

asio::awaitable<void> run_lane(Lane& lane, const JoinPlan& plan, std::size_t count) {
    std::string host = plan.server.endpoint.address().to_string() + ":" + std::to_string(plan.server.endpoint.port());
    Target target{plan.server.endpoint, boost::asio::ip::make_address("127.0.0.1"), host, ws_path(plan.room, plan.token)};
    std::string goodbye;
    encode_close(goodbye);
    for (std::size_t i = 0; i < count; ++i) {
        auto conn = std::make_unique<WsConn>(lane.worker, lane);
        lane.welcomed = false;
        auto started = Clock::now();
        if (co_await conn->open(target, kOpenTimeout) != OpenResult::opened) {
            ++lane.failed;
            continue;
        }
        if (!lane.welcomed) {
            lane.timer.expires_after(kWelcomeWait);
            boost::system::error_code ec;
            co_await lane.timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        }
        if (!lane.welcomed) {
            ++lane.failed;
        } else {
            lane.latencies_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count());
            // The closing handshake, to its end: a socket closed with frames still unread goes
            // out as a reset, which the server rightly takes for a lost connection (held for a
            // resume, still in the room), not for a leave.
            lane.closed = false;
            conn->send_raw(goodbye);
            lane.timer.expires_after(kCloseWait);
            boost::system::error_code ec;
            if (!lane.closed)
                co_await lane.timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        }
        conn->close();
    }
}

double percentile_ms(std::vector<std::int64_t>& sorted, double q) {
    if (sorted.empty()) return 0;
    auto i = std::min(sorted.size() - 1, static_cast<std::size_t>(q * static_cast<double>(sorted.size())));
    return static_cast<double>(sorted[i]) / 1e6;
}

}  // namespace

JoinResult run_joins(const JoinPlan& plan) {
    WorkerPool pool(plan.threads);
    std::vector<std::unique_ptr<Lane>> lanes;
    for (std::size_t i = 0; i < plan.in_flight; ++i) lanes.push_back(std::make_unique<Lane>(pool[i % pool.size()]));
    std::vector<pid_t> pids{plan.server.pid};
    wait_until_quiet(pids, std::chrono::seconds(30));
    std::mutex mutex;
    std::condition_variable done;
    std::size_t running = lanes.size();
    double cpu_before = cpu_seconds(pids);
    auto started = Clock::now();
    for (std::size_t i = 0; i < lanes.size(); ++i) {
        std::size_t count = plan.joins / lanes.size() + (i < plan.joins % lanes.size() ? 1 : 0);
        asio::co_spawn(lanes[i]->worker.io, run_lane(*lanes[i], plan, count), [&](std::exception_ptr) {
            std::lock_guard lock(mutex);
            if (--running == 0) done.notify_one();
        });
    }
    {
        std::unique_lock lock(mutex);
        done.wait(lock, [&] { return running == 0; });
    }
    JoinResult r;
    r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    r.server_cpu_seconds = cpu_seconds(pids) - cpu_before;
    r.asked = plan.joins;
    std::vector<std::int64_t> all;
    for (auto& lane : lanes) {
        all.insert(all.end(), lane->latencies_ns.begin(), lane->latencies_ns.end());
        r.failed += lane->failed;
        r.welcome_bytes = std::max(r.welcome_bytes, lane->welcome_bytes);
    }
    pool.stop();
    std::sort(all.begin(), all.end());
    r.welcomed = all.size();
    r.p50_ms = percentile_ms(all, 0.5);
    r.p99_ms = percentile_ms(all, 0.99);
    return r;
}

}  // namespace wsload
