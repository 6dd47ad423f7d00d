#include "opener.hpp"

#include <boost/asio/co_spawn.hpp>

#include <condition_variable>
#include <mutex>

namespace wsload {
namespace {

constexpr std::size_t kHandshakesInFlight = 64;  // per worker
constexpr std::chrono::seconds kOpenTimeout{20};

// The connections of one worker, opened by a few coroutines taking the next index in turn.
struct WorkerShare {
    std::vector<std::size_t> indices;
    std::size_t next = 0;
};

void count(OpenTally& tally, OpenResult result, const WsConn& conn) {
    switch (result) {
    case OpenResult::opened: ++tally.opened; break;
    case OpenResult::refused:
        ++tally.refused;
        tally.refusal_status = conn.http_status();
        break;
    case OpenResult::connect_failed: ++tally.connect_failed; break;
    case OpenResult::timed_out: ++tally.timed_out; break;
    }
}

asio::awaitable<void> opener(WorkerShare& share, std::vector<std::unique_ptr<WsConn>>& conns,
                             const std::function<Target(std::size_t)>& target, OpenTally& tally) {
    while (share.next < share.indices.size()) {
        std::size_t i = share.indices[share.next++];
        Target where = target(i);
        OpenResult result = co_await conns[i]->open(where, kOpenTimeout);
        count(tally, result, *conns[i]);
    }
}

}  // namespace

void open_all(WorkerPool& pool, std::vector<std::unique_ptr<WsConn>>& conns,
              const std::function<Target(std::size_t)>& target, OpenTally& tally) {
    std::vector<WorkerShare> shares(pool.size());
    for (std::size_t i = 0; i < conns.size(); ++i) shares[i % pool.size()].indices.push_back(i);

    std::mutex mutex;
    std::condition_variable all_done;
    std::size_t running = 0;
    for (auto& share : shares) running += std::min(kHandshakesInFlight, share.indices.size());
    if (running == 0) return;
    for (std::size_t w = 0; w < pool.size(); ++w) {
        for (std::size_t k = 0; k < std::min(kHandshakesInFlight, shares[w].indices.size()); ++k)
            asio::co_spawn(pool[w].io, opener(shares[w], conns, target, tally), [&](std::exception_ptr) {
                std::lock_guard lock(mutex);
                if (--running == 0) all_done.notify_one();
            });
    }
    std::unique_lock lock(mutex);
    all_done.wait(lock, [&] { return running == 0; });
}

}  // namespace wsload
