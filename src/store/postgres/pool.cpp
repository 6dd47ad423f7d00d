#include "store/postgres/pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace castera::postgres {
namespace {

namespace asio = boost::asio;

}  // namespace

void Pool::drop_closed() {
    std::erase_if(open_, [](const std::shared_ptr<Connection>& connection) { return !connection->usable(); });
}

std::shared_ptr<Connection> Pool::least_loaded() const {
    auto best = std::min_element(open_.begin(), open_.end(), [](const auto& a, const auto& b) {
        return a->outstanding() < b->outstanding();
    });
    return best == open_.end() ? nullptr : *best;
}

void Pool::wake_waiters() {
    for (asio::steady_timer* timer : std::exchange(waiting_, {})) timer->cancel();
}

Task<std::shared_ptr<Connection>> Pool::open_new() {
    ++opening_;
    std::shared_ptr<Connection> connection;
    try {
        connection = co_await Connection::open(conninfo_);
    } catch (...) {
        --opening_;
        wake_waiters();  // each tries for itself and gets its own error
        throw;
    }
    --opening_;
    if (home_) connection->settle_on(*home_);
    open_.push_back(connection);
    wake_waiters();
    co_return connection;
}

Task<std::shared_ptr<Connection>> Pool::pick() {
    for (;;) {
        drop_closed();
        std::shared_ptr<Connection> best = least_loaded();
        // An idle connection is read once before new work goes on it (a farewell from a
        // restarted server is waiting there); a busy one's reader notices by itself.
        if (best && best->outstanding() == 0 && !best->still_open()) continue;
        bool room = open_.size() + opening_ < size_;
        if (best && (best->outstanding() == 0 || !room)) co_return best;
        if (room) co_return co_await open_new();

        // Nothing open yet, and the pool's connections are all being opened: wait for one.
        auto executor = co_await asio::this_coro::executor;
        asio::steady_timer timer(executor, asio::steady_timer::time_point::max());
        waiting_.push_back(&timer);
        // If this coroutine is destroyed while it waits (a loop shutting down), the pool must
        // not keep a pointer into its frame.
        struct Unregister {
            std::weak_ptr<Pool> pool;
            asio::steady_timer* timer;
            ~Unregister() {
                if (auto alive = pool.lock()) std::erase(alive->waiting_, timer);
            }
        } unregister{weak_from_this(), &timer};
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

}  // namespace castera::postgres
