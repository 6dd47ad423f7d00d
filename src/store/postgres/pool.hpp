// A few pipelined connections for one event loop, opened when needed. Each connection carries
// the statements of many requests at once (see Connection), so nobody waits for a connection
// to be free. A statement goes to the connection with the least in flight: a connection held
// up by a slow statement (a large listing, a lock) collects no more work behind it, and
// PostgreSQL works on the loop's statements in two backends at once. A connection that failed
// is dropped and the next request opens a new one: castera rides out a database restart
// without being restarted itself.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/postgres/connection.hpp"

namespace castera::postgres {

class Pool : public std::enable_shared_from_this<Pool> {
public:
    Pool(std::string conninfo, std::size_t size) : conninfo_(std::move(conninfo)), size_(size) {}

    // A connection for the next statement: an open one with nothing in flight, else a new one
    // while the pool has room, else the open one with the least in flight. Throws
    // StoreUnavailable when none is open and none can be opened.
    Task<std::shared_ptr<Connection>> pick();

    // Every connection of this pool will be used on this loop only: see Store::settle_on.
    void settle_on(const boost::asio::any_io_executor& loop) { home_ = loop; }

private:
    Task<std::shared_ptr<Connection>> open_new();
    // Forgets the connections that failed.
    void drop_closed();
    std::shared_ptr<Connection> least_loaded() const;
    void wake_waiters();

    std::string conninfo_;
    std::size_t size_;
    std::optional<boost::asio::any_io_executor> home_;
    std::vector<std::shared_ptr<Connection>> open_;
    std::size_t opening_ = 0;
    // Coroutines waiting while the only connections are still being opened; woken by a cancel.
    std::vector<boost::asio::steady_timer*> waiting_;
};

}  // namespace castera::postgres
