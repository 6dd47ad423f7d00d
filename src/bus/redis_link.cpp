#include "bus/redis_link.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <poll.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace castera::bus {
namespace {

namespace asio = boost::asio;

enum class Direction { read, write };

// Asio's reactor is edge-triggered: readiness that came before a wait started would not wake
// it. Asking the kernel first covers bytes hiredis left unread (it reads 16 KiB at a time).
bool ready_now(int fd, Direction direction) {
    pollfd entry{fd, static_cast<short>(direction == Direction::read ? POLLIN : POLLOUT), 0};
    return ::poll(&entry, 1, 0) > 0;
}

// The reply callback behind request(): owns the function until hiredis calls it, once.
void run_reply_function(redisAsyncContext*, void* reply, void* privdata) {
    std::unique_ptr<std::function<void(Reply)>> on_reply(static_cast<std::function<void(Reply)>*>(privdata));
    (*on_reply)(Reply::from(static_cast<const redisReply*>(reply)));
}

}  // namespace

// hiredis' event hooks on an Asio descriptor. hiredis owns the socket: the descriptor is
// released, never closed, when hiredis cleans up (it closes the fd itself). Handlers share
// this object, so that one running after the cleanup finds `ac_` null and does nothing.
class RedisLink::Events : public std::enable_shared_from_this<RedisLink::Events> {
public:
    Events(asio::io_context& io, redisAsyncContext* ac) : socket_(io, ac->c.fd), ac_(ac) {}

    // Puts this object in the context's hooks.
    void attach() {
        ac_->ev.data = this;
        ac_->ev.addRead = [](void* p) { static_cast<Events*>(p)->want(Direction::read, true); };
        ac_->ev.delRead = [](void* p) { static_cast<Events*>(p)->want(Direction::read, false); };
        ac_->ev.addWrite = [](void* p) { static_cast<Events*>(p)->want(Direction::write, true); };
        ac_->ev.delWrite = [](void* p) { static_cast<Events*>(p)->want(Direction::write, false); };
        ac_->ev.cleanup = [](void* p) { static_cast<Events*>(p)->detach(); };
    }

    // hiredis is done with the socket (the context is being freed or disconnected).
    void detach() {
        ac_ = nullptr;
        wants_[0] = wants_[1] = false;
        if (socket_.is_open()) socket_.release();
    }

private:
    static int index(Direction d) { return d == Direction::read ? 0 : 1; }

    // A hook: hiredis wants (or no longer wants) to hear about readiness. Hooks run inside
    // hiredis calls, so they only arrange a wait, never call hiredis back.
    void want(Direction d, bool on) {
        wants_[index(d)] = on;
        if (on) arm(d);
    }

    void arm(Direction d) {
        if (armed_[index(d)] || !ac_) return;
        armed_[index(d)] = true;
        auto self = shared_from_this();
        if (ready_now(socket_.native_handle(), d)) {
            asio::post(socket_.get_executor(), [self, d] { self->ready(d, {}); });
            return;
        }
        auto kind = d == Direction::read ? asio::posix::descriptor_base::wait_read
                                         : asio::posix::descriptor_base::wait_write;
        socket_.async_wait(kind, [self, d](boost::system::error_code ec) { self->ready(d, ec); });
    }

    // The socket is ready: hiredis reads (and runs reply callbacks) or writes. It may free
    // the context meanwhile, which detaches this object.
    void ready(Direction d, boost::system::error_code ec) {
        armed_[index(d)] = false;
        if (!ac_ || ec == asio::error::operation_aborted || !wants_[index(d)]) return;
        if (d == Direction::read) redisAsyncHandleRead(ac_);
        else redisAsyncHandleWrite(ac_);
        if (ac_ && wants_[index(d)]) arm(d);
    }

    asio::posix::stream_descriptor socket_;
    redisAsyncContext* ac_;
    bool wants_[2] = {false, false};
    bool armed_[2] = {false, false};
};

Reply Reply::from(const redisReply* reply) {
    Reply out;
    if (reply == nullptr) return out;
    switch (reply->type) {
        case REDIS_REPLY_STRING: out.type = Type::string; break;
        case REDIS_REPLY_STATUS: out.type = Type::status; break;
        case REDIS_REPLY_ERROR: out.type = Type::error; break;
        case REDIS_REPLY_INTEGER: out.type = Type::integer; break;
        case REDIS_REPLY_ARRAY: out.type = Type::array; break;
        default: out.type = Type::nil; break;
    }
    if (out.type == Type::string || out.type == Type::status || out.type == Type::error)
        out.text.assign(reply->str, reply->len);
    if (out.type == Type::integer) out.integer = reply->integer;
    if (out.type == Type::array) {
        out.elements.reserve(reply->elements);
        for (std::size_t i = 0; i < reply->elements; ++i) out.elements.push_back(from(reply->element[i]));
    }
    return out;
}

RedisLink::RedisLink(asio::io_context& io, const std::string& address, std::uint16_t port,
                     std::function<void()> on_change)
    : on_change_(std::move(on_change)) {
    redisAsyncContext* ac = redisAsyncConnect(address.c_str(), port);
    if (ac == nullptr) {
        state_ = State::closed;
        error_ = "out of memory";
        return;
    }
    if (ac->err) {
        state_ = State::closed;
        error_ = ac->errstr ? ac->errstr : "cannot connect";
        redisAsyncFree(ac);
        return;
    }
    try {
        events_ = std::make_shared<Events>(io, ac);
    } catch (const std::exception& e) {
        state_ = State::closed;
        error_ = e.what();
        redisAsyncFree(ac);
        return;
    }
    ac_ = ac;
    events_->attach();
    ac_->data = this;
    redisAsyncSetConnectCallback(ac_, &RedisLink::on_connect);
    redisAsyncSetDisconnectCallback(ac_, &RedisLink::on_disconnect);
}

RedisLink::~RedisLink() { free_context(); }

// Frees the context unless hiredis did; its callbacks then no longer find this link.
void RedisLink::free_context() {
    if (ac_ == nullptr) return;
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    ac->data = nullptr;
    redisAsyncFree(ac);
}

void RedisLink::close(std::string why) {
    bool was_open = state_ != State::closed;
    free_context();
    if (was_open) set_state(State::closed, std::move(why));
}

void RedisLink::set_state(State state, std::string error) {
    state_ = state;
    if (!error.empty()) error_ = std::move(error);
    if (on_change_) on_change_();
}

// The first write readiness: connected, or refused (hiredis frees the context after this).
void RedisLink::on_connect(const redisAsyncContext* ac, int status) {
    auto* link = static_cast<RedisLink*>(ac->data);
    if (link == nullptr) return;
    if (status == REDIS_OK) {
        link->set_state(State::connected, {});
        return;
    }
    link->ac_ = nullptr;
    link->set_state(State::closed, ac->errstr ? ac->errstr : "cannot connect");
}

// The connection ended (an error, or the server closed it); hiredis frees the context next.
void RedisLink::on_disconnect(const redisAsyncContext* ac, int status) {
    auto* link = static_cast<RedisLink*>(ac->data);
    if (link == nullptr) return;
    link->ac_ = nullptr;
    link->set_state(State::closed, status == REDIS_OK || !ac->errstr ? "connection closed" : ac->errstr);
}

bool RedisLink::send(const std::vector<std::string>& args, ReplyCallback callback, void* privdata) {
    if (ac_ == nullptr || args.empty()) return false;
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    return redisAsyncCommandArgv(ac_, callback, privdata, static_cast<int>(args.size()), argv.data(),
                                 lengths.data()) == REDIS_OK;
}

void RedisLink::request(const std::vector<std::string>& args, std::function<void(Reply)> on_reply) {
    auto holder = std::make_unique<std::function<void(Reply)>>(std::move(on_reply));
    if (send(args, &run_reply_function, holder.get())) {
        (void)holder.release();  // hiredis hands it back to run_reply_function
        return;
    }
    (*holder)(Reply{});
}

bool RedisLink::send_formatted(std::string_view command) {
    if (ac_ == nullptr) return false;
    return redisAsyncFormattedCommand(ac_, nullptr, nullptr, command.data(), command.size()) == REDIS_OK;
}

std::size_t RedisLink::unsent_bytes() const { return ac_ && ac_->c.obuf ? sdslen(ac_->c.obuf) : 0; }

asio::awaitable<Reply> command(RedisLink& link, std::vector<std::string> args) {
    auto initiate = [&link](auto handler, std::vector<std::string> args) {
        // The coroutine resumes from the loop's queue, never inside hiredis' callback.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        link.request(args, [shared](Reply reply) {
            auto executor = asio::get_associated_executor(*shared);
            asio::post(executor,
                       [shared, reply = std::move(reply)]() mutable { std::move(*shared)(std::move(reply)); });
        });
    };
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(Reply)>(std::move(initiate), asio::use_awaitable,
                                                                             std::move(args));
}

}  // namespace castera::bus
