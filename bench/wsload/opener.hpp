// Opens many connections at a bounded pace: a fixed number of handshakes in flight per worker,
// so that the server's accept backlog never overflows into SYN retries that would distort
// the figures.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "ws_conn.hpp"

namespace wsload {

struct OpenTally {
    std::atomic<std::size_t> opened{0};
    std::atomic<std::size_t> refused{0};
    std::atomic<std::size_t> connect_failed{0};
    std::atomic<std::size_t> timed_out{0};
    std::atomic<int> refusal_status{0};
};

// Opens conns[i] (which lives on pool[i % pool.size()]) to target(i), for every i; returns
// once every one has opened or failed. `target` is called on the workers' threads.
void open_all(WorkerPool& pool, std::vector<std::unique_ptr<WsConn>>& conns,
              const std::function<Target(std::size_t)>& target, OpenTally& tally);

}  // namespace wsload
