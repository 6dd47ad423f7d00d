// One hiredis asynchronous connection driven by an Asio event loop (hiredis 0.14 ships no Asio
// adapter; this is ours), and the commands sent on it. Everything here runs on that loop's
// thread, and nothing in it blocks: names are resolved by the caller, connecting and I/O are
// non-blocking, and readiness comes from Asio.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct redisAsyncContext;
struct redisReply;

namespace castera::bus {

// A reply, copied out of hiredis (which frees its own once the callback returns).
struct Reply {
    enum class Type { lost, nil, string, status, error, integer, array };
    Type type = Type::lost;  // lost: the connection closed before the reply came
    std::string text;        // string, status, error
    long long integer = 0;
    std::vector<Reply> elements;

    // A null reply is `lost`.
    static Reply from(const redisReply* reply);
    bool ok() const { return type != Type::lost && type != Type::error; }
};

// hiredis' reply callback: (context, reply or null, privdata).
using ReplyCallback = void (*)(redisAsyncContext*, void*, void*);

class RedisLink {
public:
    enum class State { connecting, connected, closed };

    // Starts connecting to a numeric `address` (hiredis would resolve a name with a blocking
    // call). `on_change` runs, on the loop, whenever the state changes; it must not call back
    // into this link.
    RedisLink(boost::asio::io_context& io, const std::string& address, std::uint16_t port,
              std::function<void()> on_change);
    RedisLink(const RedisLink&) = delete;
    RedisLink& operator=(const RedisLink&) = delete;
    // Frees the hiredis context: commands in flight are answered `lost`.
    ~RedisLink();

    State state() const { return state_; }
    // Why the link closed (hiredis' words), for the log.
    const std::string& error() const { return error_; }
    // Closes at once, as the destructor does, but keeps the object (and its error).
    void close(std::string why);

    // Queues a command; `callback` later runs once with its reply, or with null when the link
    // closes first. False (and no callback) when the link is closed.
    bool send(const std::vector<std::string>& args, ReplyCallback callback, void* privdata);
    // Queues a command and calls `on_reply` once with the reply (Reply::lost when the link
    // closes first, or at once when it is closed already).
    void request(const std::vector<std::string>& args, std::function<void(Reply)> on_reply);
    // Queues a command already in Redis' wire format whose reply does not matter.
    bool send_formatted(std::string_view command);
    // Bytes queued on this link and not yet written (to bound the pile while Redis is slow).
    std::size_t unsent_bytes() const;

private:
    class Events;

    static void on_connect(const redisAsyncContext* ac, int status);
    static void on_disconnect(const redisAsyncContext* ac, int status);
    void set_state(State state, std::string error);
    void free_context();

    redisAsyncContext* ac_ = nullptr;  // null once hiredis freed it or we did
    std::shared_ptr<Events> events_;
    State state_ = State::connecting;
    std::string error_;
    std::function<void()> on_change_;
};

// Sends a command on `link` and waits for its reply. Not a coroutine: the arguments belong to
// the operation (docs/DESIGN.md, coroutine rules). The link must outlive the wait.
boost::asio::awaitable<Reply> command(RedisLink& link, std::vector<std::string> args);

}  // namespace castera::bus
