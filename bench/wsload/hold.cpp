// Idle connections: opened in one or more child processes (a process holds no more sockets
// than its descriptor limit), held, then each asked for a pong.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "opener.hpp"
#include "proc.hpp"
#include "scenarios.hpp"

namespace wsload {
namespace {

constexpr std::chrono::seconds kPongWait{60};
constexpr std::chrono::seconds kQuietWait{120};

// One process's share of the idle connections: [begin, end) of the plan's numbering.
class HoldShard final : public Listener {
public:
    HoldShard(const HoldPlan& plan, std::size_t begin, std::size_t end, int threads)
        : plan_(plan), begin_(begin), pool_(threads) {
        conns_.reserve(end - begin);
        for (std::size_t i = 0; i < end - begin; ++i)
            conns_.push_back(std::make_unique<WsConn>(pool_[i % pool_.size()], *this));
    }
    ~HoldShard() override { pool_.stop(); }

    void open(OpenTally& tally) {
        open_all(pool_, conns_, [this](std::size_t i) { return target(begin_ + i); }, tally);
    }

    // Sends every open connection an application ping; returns how many answered in time.
    std::size_t ping_all() {
        std::atomic<std::size_t> asked{0};
        std::atomic<std::size_t> posted{0};
        for (std::size_t w = 0; w < pool_.size(); ++w)
            boost::asio::post(pool_[w].io, [this, w, &asked, &posted] {
                for (std::size_t i = w; i < conns_.size(); i += pool_.size())
                    if (conns_[i]->is_open()) {
                        conns_[i]->send_text(R"({"type":"ping","id":1})");
                        ++asked;
                    }
                ++posted;
            });
        auto deadline = std::chrono::steady_clock::now() + kPongWait;
        while (std::chrono::steady_clock::now() < deadline && (posted < pool_.size() || pongs_ < asked))
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return pongs_;
    }

    std::size_t closed_by_server() const { return closed_; }

private:
    // Spreads connections evenly over servers, then source addresses, in rooms of room_size.
    Target target(std::size_t n) const {
        const Server& server = plan_.servers[n % plan_.servers.size()];
        const auto& source = plan_.sources[(n / plan_.servers.size()) % plan_.sources.size()];
        const std::string& room = plan_.rooms[n / plan_.room_size];
        std::string host = server.endpoint.address().to_string() + ":" + std::to_string(server.endpoint.port());
        return Target{server.endpoint, source, std::move(host), ws_path(room, plan_.token)};
    }

    void on_text(WsConn&, std::string_view payload) override {
        if (payload.starts_with(R"({"type":"pong")")) ++pongs_;
    }
    void on_closed(WsConn&) override { ++closed_; }

    const HoldPlan& plan_;
    std::size_t begin_;
    WorkerPool pool_;
    std::vector<std::unique_ptr<WsConn>> conns_;
    std::atomic<std::size_t> pongs_{0};
    std::atomic<std::size_t> closed_{0};
};

std::string read_line(int fd) {
    std::string line;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
    return line;
}

void write_line(int fd, const std::string& line) {
    std::string out = line + "\n";
    if (::write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) std::perror("wsload: pipe");
}

// SO_LINGER with a zero timeout on every descriptor of this process that is a socket (the
// others refuse it): closing them then sends a reset and leaves nothing behind.
void reset_sockets_on_close() {
    rlimit fds{};
    ::getrlimit(RLIMIT_NOFILE, &fds);
    linger abort_on_close{1, 0};
    for (int fd = 3; fd < static_cast<int>(std::min<rlim_t>(fds.rlim_cur, 1 << 22)); ++fd)
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
}

// The child's side: open, report, answer the parent's commands, then leave.
[[noreturn]] void run_shard(const HoldPlan& plan, std::size_t begin, std::size_t end, int threads, int commands,
                            int reports) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the parent
    HoldShard shard(plan, begin, end, threads);
    OpenTally tally;
    shard.open(tally);
    char line[160];
    std::snprintf(line, sizeof line, "opened %zu refused %zu failed %zu timeout %zu status %d rss %ld",
                  tally.opened.load(), tally.refused.load(), tally.connect_failed.load(), tally.timed_out.load(),
                  tally.refusal_status.load(), rss_kib({::getpid()}));
    write_line(reports, line);
    if (read_line(commands) == "ping") {
        std::size_t pongs = shard.ping_all();
        std::snprintf(line, sizeof line, "pongs %zu closed %zu", pongs, shard.closed_by_server());
        write_line(reports, line);
        read_line(commands);  // "quit"
    }
    // Leaving closes every socket at once; no need to take the connections down one by one.
    // Each with a reset rather than a FIN: the tool would otherwise leave one TIME_WAIT
    // socket per connection in the kernel, whose expiry a minute later (100,000 timers
    // within a few seconds) falls into the runs measured next.
    reset_sockets_on_close();
    std::_Exit(0);
}

struct ShardProcess {
    pid_t pid = 0;
    int commands = -1;  // parent writes
    int reports = -1;   // parent reads
};

ShardProcess start_shard(const HoldPlan& plan, std::size_t begin, std::size_t end, int threads,
                         const std::vector<ShardProcess>& earlier) {
    int down[2], up[2];
    if (::pipe(down) != 0 || ::pipe(up) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        for (const auto& s : earlier) ::close(s.commands), ::close(s.reports);
        ::close(down[1]);
        ::close(up[0]);
        run_shard(plan, begin, end, threads, down[0], up[1]);
    }
    ::close(down[0]);
    ::close(up[1]);
    return ShardProcess{pid, down[1], up[0]};
}

void add_open_report(HoldResult& r, const std::string& line) {
    std::size_t opened = 0, refused = 0, failed = 0, timeout = 0;
    int status = 0;
    long rss = 0;
    if (std::sscanf(line.c_str(), "opened %zu refused %zu failed %zu timeout %zu status %d rss %ld", &opened,
                    &refused, &failed, &timeout, &status, &rss) != 6)
        throw std::runtime_error("a shard failed before reporting: " + line);
    r.opened += opened;
    r.refused += refused;
    r.connect_failed += failed;
    r.timed_out += timeout;
    if (status) r.refusal_status = status;
    r.tool_rss_kib += rss;
}

void add_ping_report(HoldResult& r, const std::string& line) {
    std::size_t pongs = 0, closed = 0;
    if (std::sscanf(line.c_str(), "pongs %zu closed %zu", &pongs, &closed) != 2)
        throw std::runtime_error("a shard failed while pinging: " + line);
    r.answered_ping += pongs;
    r.closed_by_server += closed;
}

std::vector<pid_t> pids_of(const std::vector<Server>& servers) {
    std::vector<pid_t> pids;
    for (const auto& s : servers)
        if (s.pid) pids.push_back(s.pid);
    return pids;
}

}  // namespace

HoldResult run_hold(const HoldPlan& plan) {
    HoldResult r;
    r.asked = plan.connections;
    std::size_t per_process = raise_fd_limit();
    if (per_process == 0) throw std::runtime_error("the descriptor limit leaves no room for connections");
    r.processes = static_cast<int>((plan.connections + per_process - 1) / per_process);
    int threads = std::max(1, plan.threads / r.processes);
    auto pids = pids_of(plan.servers);
    r.rss_before_kib = rss_kib(pids);
    r.server_fds_before = open_fds(pids);

    std::vector<ShardProcess> shards;
    for (int p = 0; p < r.processes; ++p)
        shards.push_back(start_shard(plan, plan.connections * p / r.processes, plan.connections * (p + 1) / r.processes,
                                     threads, shards));
    for (auto& s : shards) add_open_report(r, read_line(s.reports));

    // Presence and welcomes of the last joins settle first, then the connections sit idle.
    wait_until_quiet(pids, kQuietWait);
    std::this_thread::sleep_for(std::chrono::seconds(plan.hold_seconds));
    r.rss_after_kib = rss_kib(pids);
    r.server_fds_after = open_fds(pids);

    for (auto& s : shards) write_line(s.commands, "ping");
    for (auto& s : shards) add_ping_report(r, read_line(s.reports));
    for (auto& s : shards) {
        write_line(s.commands, "quit");
        ::waitpid(s.pid, nullptr, 0);
        ::close(s.commands);
        ::close(s.reports);
    }
    // Taking 100,000 connections down keeps the servers busy a while (presence to the rest of
    // each room): that must not steal the cores from what is measured next.
    wait_until_quiet(pids, kQuietWait);
    return r;
}

}  // namespace wsload
