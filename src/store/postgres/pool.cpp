#include "store/postgres/pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace castera::postgres {
namespace {

namespace asio = boost::asio;

}  // namespace

Lease::~Lease() {
    if (!connection_) return;
    auto pool = pool_.lock();
    if (!pool) return;
    if (connection_->usable()) pool->give_back(std::move(connection_));
    else pool->give_back(nullptr);
}

void Pool::give_back(std::unique_ptr<Connection> connection) {
    if (!connection) --open_;
    if (!waiters_.empty()) {
        // Handed straight to the longest waiter; with nothing to hand, it opens its own.
        Waiter* waiter = waiters_.front();
        waiters_.pop_front();
        waiter->handed = std::move(connection);
        waiter->woken = true;
        waiter->timer.cancel();
        return;
    }
    if (connection) idle_.push_back(std::move(connection));
}

void Pool::forget(Waiter* waiter) { std::erase(waiters_, waiter); }

Task<Lease> Pool::open_new() {
    ++open_;
    std::unique_ptr<Connection> connection;
    try {
        connection = co_await Connection::open(conninfo_);
        if (home_) connection->settle_on(*home_);
    } catch (...) {
        give_back(nullptr);  // frees the slot, and lets a waiter try for itself
        throw;
    }
    co_return Lease(weak_from_this(), std::move(connection));
}

Task<Lease> Pool::acquire() {
    for (;;) {
        while (!idle_.empty()) {
            std::unique_ptr<Connection> connection = std::move(idle_.back());
            idle_.pop_back();
            if (connection->still_open()) co_return Lease(weak_from_this(), std::move(connection));
            --open_;
        }
        if (open_ < size_) co_return co_await open_new();

        auto executor = co_await asio::this_coro::executor;
        Waiter waiter{asio::steady_timer(executor, asio::steady_timer::time_point::max())};
        waiters_.push_back(&waiter);
        // If this coroutine is destroyed while it waits (a loop shutting down), the pool must
        // not keep a pointer to its frame.
        struct Unregister {
            std::weak_ptr<Pool> pool;
            Waiter* waiter;
            ~Unregister() {
                if (auto alive = pool.lock(); alive && !waiter->woken) alive->forget(waiter);
            }
        } unregister{weak_from_this(), &waiter};
        co_await waiter.timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (waiter.handed && waiter.handed->still_open()) co_return Lease(weak_from_this(), std::move(waiter.handed));
        if (waiter.handed) give_back(nullptr);
    }
}

}  // namespace castera::postgres
