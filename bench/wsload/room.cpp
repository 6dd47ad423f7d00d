// One room, many receivers, one sender: a burst for throughput, then a steady rate for
// latency. Every chat carries its send time (steady clock, shared by the whole machine), so
// a receiver knows each delivery's latency without asking anyone: up to the frame's arrival
// in its socket (the kernel's receive time) and up to the tool reading it.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <future>
#include <thread>

#include "opener.hpp"
#include "proc.hpp"
#include "scenarios.hpp"

namespace wsload {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kBurstWait{30};
constexpr std::chrono::seconds kStragglerWait{2};
constexpr std::chrono::seconds kQuietWait{60};

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// A chat's content: "<kind>:<sequence>:<send time in ns>".
std::string chat_payload(char kind, std::size_t seq, std::int64_t sent_ns) {
    return R"({"type":"chat","content":")" + std::string(1, kind) + ":" + std::to_string(seq) + ":" +
           std::to_string(sent_ns) + R"("})";
}

struct ChatMark {
    char kind = 0;
    std::uint32_t seq = 0;
    std::int64_t sent_ns = 0;
};

// The mark of a chat frame from the server, if it is one of ours.
bool parse_chat(std::string_view frame, ChatMark& mark) {
    if (!frame.starts_with(R"({"type":"chat")")) return false;
    constexpr std::string_view key = R"("content":")";
    auto at = frame.find(key);
    if (at == std::string_view::npos) return false;
    std::string_view content = frame.substr(at + key.size());
    content = content.substr(0, content.find('"'));
    auto time_at = content.rfind(':');
    if (content.size() < 5 || content[1] != ':' || time_at == std::string_view::npos || time_at <= 2) return false;
    mark.kind = content[0];
    const char* end = content.data() + content.size();
    auto seq = std::from_chars(content.data() + 2, content.data() + time_at, mark.seq);
    auto sent = std::from_chars(content.data() + time_at + 1, end, mark.sent_ns);
    return seq.ec == std::errc() && sent.ec == std::errc();
}

// The q-quantile of sorted nanoseconds, in milliseconds.
double percentile_ms(const std::vector<std::int64_t>& sorted, double q) {
    if (sorted.empty()) return 0;
    auto i = std::min(sorted.size() - 1, static_cast<std::size_t>(q * static_cast<double>(sorted.size())));
    return static_cast<double>(sorted[i]) / 1e6;
}

constexpr std::int64_t kUnknown = -1;

// One delivery of the latency run: to the frame's arrival in the socket, and to its read.
struct Delivery {
    std::uint32_t message;
    std::int64_t arrival_ns;  // kUnknown when the kernel gave no receive time
    std::int64_t read_ns;
};

// The spread of one of a delivery's latencies (arrival_ns or read_ns) over all deliveries.
LatencySpread spread_of(const std::vector<Delivery>& deliveries, std::int64_t Delivery::*latency,
                        std::size_t messages) {
    LatencySpread r;
    std::vector<std::int64_t> all, first(messages, INT64_MAX), last(messages, -1);
    for (const Delivery& d : deliveries) {
        std::int64_t ns = d.*latency;
        if (ns == kUnknown) continue;
        all.push_back(ns);
        if (d.message >= messages) continue;
        first[d.message] = std::min(first[d.message], ns);
        last[d.message] = std::max(last[d.message], ns);
    }
    std::sort(all.begin(), all.end());
    r.p50_ms = percentile_ms(all, 0.50);
    r.p99_ms = percentile_ms(all, 0.99);
    r.p999_ms = percentile_ms(all, 0.999);
    r.max_ms = all.empty() ? 0 : static_cast<double>(all.back()) / 1e6;
    for (std::size_t i = 0; i < messages; ++i)
        r.per_message_ms.emplace_back(first[i] == INT64_MAX ? -1.0 : static_cast<double>(first[i]) / 1e6,
                                      last[i] < 0 ? -1.0 : static_cast<double>(last[i]) / 1e6);
    std::erase(first, INT64_MAX);
    std::erase(last, -1);
    std::sort(first.begin(), first.end());
    std::sort(last.begin(), last.end());
    r.first_p50_ms = percentile_ms(first, 0.5);
    r.last_p50_ms = percentile_ms(last, 0.5);
    return r;
}

// What one worker saw; only its own thread writes it while a run is on.
struct alignas(64) Tally {
    std::size_t burst_goal = 0;
    std::size_t burst_seen = 0;
    Clock::time_point burst_done{};
    std::vector<Delivery> deliveries;  // of the latency run
};

class RoomRun final : public Listener {
public:
    explicit RoomRun(const RoomPlan& plan) : plan_(plan), pool_(plan.threads), tallies_(pool_.size()) {
        server_pids_.push_back(plan.sender.pid);
        if (plan.receiver.pid != plan.sender.pid) server_pids_.push_back(plan.receiver.pid);
        // Index 0 is the sender; receivers follow, spread over the workers.
        for (std::size_t i = 0; i <= plan.receivers; ++i)
            conns_.push_back(std::make_unique<WsConn>(pool_[i % pool_.size()], *this));
    }
    ~RoomRun() override { pool_.stop(); }

    std::size_t open() {
        OpenTally tally;
        open_all(pool_, conns_, [this](std::size_t i) { return target(i == 0 ? plan_.sender : plan_.receiver); },
                 tally);
        bool sender_open = false;
        on_each_worker([&](Worker& w, Tally&) {
            if (&w == &conns_[0]->worker()) sender_open = conns_[0]->is_open();
        });
        if (!sender_open) throw std::runtime_error("the sender could not join the room");
        opened_ = receivers_open();
        return opened_;
    }

    BurstResult burst() {
        BurstResult r;
        on_each_worker([this](Worker& w, Tally& t) {
            t.burst_goal = plan_.burst * receivers_on(w);
            t.burst_seen = 0;
        });
        r.expected = plan_.burst * receivers_open();
        std::string frames;
        for (std::size_t i = 0; i < plan_.burst; ++i) encode_text(frames, chat_payload('b', i, now_ns()));
        double server_cpu = cpu_seconds(server_pids_), tool_cpu = own_cpu_seconds();
        auto start = Clock::now();
        boost::asio::post(conns_[0]->worker().io, [this, &frames] { conns_[0]->send_raw(frames); });
        auto done = wait_for_burst(start + kBurstWait);
        r.server_cpu_seconds = cpu_seconds(server_pids_) - server_cpu;
        r.tool_cpu_seconds = own_cpu_seconds() - tool_cpu;
        on_each_worker([&](Worker&, Tally& t) { r.delivered += t.burst_seen; });
        r.seconds = std::chrono::duration<double>((done ? last_burst_delivery() : Clock::now()) - start).count();
        r.dropped = opened_ - receivers_open();
        return r;
    }

    LatencyResult steady() {
        LatencyResult r;
        auto count = static_cast<std::size_t>(plan_.rate * plan_.seconds);
        r.sent = count;
        r.expected = count * receivers_open();
        std::promise<void> sent;
        boost::asio::co_spawn(conns_[0]->worker().io, send_steadily(count),
                              [&](std::exception_ptr) { sent.set_value(); });
        sent.get_future().wait();
        wait_for_deliveries(r.expected, Clock::now() + kStragglerWait);
        std::vector<Delivery> deliveries;
        on_each_worker([&](Worker&, Tally& t) {
            deliveries.insert(deliveries.end(), t.deliveries.begin(), t.deliveries.end());
        });
        r.received = deliveries.size();
        r.arrival_unknown = static_cast<std::size_t>(
            std::count_if(deliveries.begin(), deliveries.end(), [](const Delivery& d) { return d.arrival_ns == kUnknown; }));
        r.arrival = spread_of(deliveries, &Delivery::arrival_ns, count);
        r.read = spread_of(deliveries, &Delivery::read_ns, count);
        r.dropped = opened_ - receivers_open();
        return r;
    }

private:
    Target target(const Server& server) const {
        std::string host = server.endpoint.address().to_string() + ":" + std::to_string(server.endpoint.port());
        return Target{server.endpoint, boost::asio::ip::make_address("127.0.0.1"), std::move(host),
                      ws_path(plan_.room, plan_.token)};
    }

    // Sends `count` chats at plan.rate a second, on a fixed schedule so that a late tick does
    // not push the following ones back.
    boost::asio::awaitable<void> send_steadily(std::size_t count) {
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
        auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / plan_.rate));
        auto start = Clock::now();
        for (std::size_t i = 0; i < count; ++i) {
            timer.expires_at(start + period * static_cast<long>(i));
            co_await timer.async_wait(boost::asio::use_awaitable);
            conns_[0]->send_text(chat_payload('l', i, now_ns()));
        }
    }

    void on_text(WsConn& conn, std::string_view payload) override {
        ChatMark mark;
        if (&conn == conns_[0].get() || !parse_chat(payload, mark)) return;
        Tally& t = tallies_[conn.worker().index];
        if (mark.kind == 'l') {
            std::int64_t arrival = conn.arrival_ns();
            t.deliveries.push_back({mark.seq, arrival ? arrival - mark.sent_ns : kUnknown, now_ns() - mark.sent_ns});
        } else if (mark.kind == 'b' && ++t.burst_seen == t.burst_goal) {
            t.burst_done = Clock::now();
            ++workers_done_;
        }
    }
    void on_closed(WsConn&) override {}

    // Runs f on every worker's thread, one after the other, and waits for it.
    template <typename F>
    void on_each_worker(F f) {
        for (std::size_t w = 0; w < pool_.size(); ++w) {
            std::promise<void> done;
            boost::asio::post(pool_[w].io, [&, w] {
                f(pool_[w], tallies_[w]);
                done.set_value();
            });
            done.get_future().wait();
        }
    }

    bool wait_for_burst(Clock::time_point deadline) {
        std::size_t busy_workers = 0;
        on_each_worker([&](Worker&, Tally& t) { busy_workers += t.burst_goal > 0; });
        while (workers_done_ < busy_workers && Clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the workers note the end time
        return workers_done_ >= busy_workers;
    }

    Clock::time_point last_burst_delivery() {
        Clock::time_point last{};
        on_each_worker([&](Worker&, Tally& t) { last = std::max(last, t.burst_done); });
        return last;
    }

    void wait_for_deliveries(std::size_t expected, Clock::time_point deadline) {
        while (Clock::now() < deadline) {
            std::size_t got = 0;
            on_each_worker([&](Worker&, Tally& t) { got += t.deliveries.size(); });
            if (got >= expected) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    std::size_t receivers_on(Worker& w) const {
        std::size_t n = 0;
        for (std::size_t i = 1; i < conns_.size(); ++i) n += &conns_[i]->worker() == &w && conns_[i]->is_open();
        return n;
    }
    // Counted on each worker's thread, which alone changes its connections.
    std::size_t receivers_open() {
        std::size_t n = 0;
        on_each_worker([&](Worker& w, Tally&) { n += receivers_on(w); });
        return n;
    }

    const RoomPlan& plan_;
    WorkerPool pool_;
    std::vector<Tally> tallies_;
    std::vector<std::unique_ptr<WsConn>> conns_;
    std::atomic<std::size_t> workers_done_{0};
    std::size_t opened_ = 0;
    std::vector<pid_t> server_pids_;
};

std::string url_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(static_cast<char>(c));
        else out += {'%', hex[c >> 4], hex[c & 15]};
    }
    return out;
}

}  // namespace

std::string ws_path(const std::string& room, const std::string& token) {
    return "/ws/meetings/" + room + "/?access_token=" + url_encode(token);
}

RoomResult run_room(const RoomPlan& plan) {
    std::vector<pid_t> pids{plan.sender.pid};
    if (plan.receiver.pid != plan.sender.pid) pids.push_back(plan.receiver.pid);
    RoomRun run(plan);
    RoomResult r;
    r.receivers_opened = run.open();
    wait_until_quiet(pids, kQuietWait);  // the joins' presence frames must not count as load
    r.burst = run.burst();
    wait_until_quiet(pids, kQuietWait);
    r.latency = run.steady();
    return r;
}

}  // namespace wsload
