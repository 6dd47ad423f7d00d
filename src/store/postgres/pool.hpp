// A few connections for one event loop, opened when first needed. A query borrows one for
// its duration (a Lease); when all are busy it waits for one to come back. A connection that
// failed is dropped, and the next request opens a new one: castera rides out a database
// restart without being restarted itself.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "store/postgres/connection.hpp"

namespace castera::postgres {

class Pool;

// A borrowed connection, given back (or dropped when it is no longer usable) on destruction.
class Lease {
public:
    Lease(std::weak_ptr<Pool> pool, std::unique_ptr<Connection> connection)
        : pool_(std::move(pool)), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }

private:
    std::weak_ptr<Pool> pool_;  // the pool may be gone first when a loop shuts down
    std::unique_ptr<Connection> connection_;
};

class Pool : public std::enable_shared_from_this<Pool> {
public:
    Pool(std::string conninfo, std::size_t size) : conninfo_(std::move(conninfo)), size_(size) {}

    // A connection for the calling coroutine: an idle one, a new one while the pool has
    // room, else the next one given back. Throws StoreUnavailable when none can be opened.
    Task<Lease> acquire();

    // Every connection of this pool will be used on this loop only: see Store::settle_on.
    void settle_on(const boost::asio::any_io_executor& loop) { home_ = loop; }

    // Takes a connection back; nullptr says that a borrowed connection was dropped.
    void give_back(std::unique_ptr<Connection> connection);

private:
    // A coroutine waiting for a connection; woken by cancelling its timer.
    struct Waiter {
        boost::asio::steady_timer timer;
        std::unique_ptr<Connection> handed;  // set when a connection was handed over
        bool woken = false;
    };

    Task<Lease> open_new();
    void forget(Waiter* waiter);

    std::string conninfo_;
    std::size_t size_;
    std::optional<boost::asio::any_io_executor> home_;
    std::size_t open_ = 0;  // connections idle or lent out
    std::vector<std::unique_ptr<Connection>> idle_;
    std::deque<Waiter*> waiters_;
};

}  // namespace castera::postgres
