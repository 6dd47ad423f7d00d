#include "realtime/ws_socket.hpp"

#include "realtime/send_ring.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace castera::realtime {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using wire::Opcode;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Frames per sendmsg (two iovecs each, far below IOV_MAX).
constexpr std::size_t kMaxGather = 64;
// Frames per socket in a send ring's submission: a room's event is one; a burst's remainder
// goes by sendmsg.
constexpr std::size_t kRingGather = 8;
// Received bytes are read in steps of this much at least.
constexpr std::size_t kReadStep = 16 << 10;

constexpr std::uint16_t kClosePolicy = 1008;

Frame make_frame(std::string payload) { return std::make_shared<const std::string>(std::move(payload)); }

bool would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

}  // namespace

WsSocket::WsSocket(tcp::socket socket, asio::io_context::executor_type executor, Options options)
    : socket_(std::move(socket)), executor_(executor), timer_(executor), options_(options),
      reader_(options.max_message) {}

void WsSocket::start() { arm_timer(TimerFor::idle, options_.idle_timeout / 2); }

// ---- Writing ----------------------------------------------------------------------------

void WsSocket::send(Frame text) {
    if (closing()) return;
    if (options_.counters) options_.counters->ws_frames_sent.add();
    push(std::move(text), Opcode::text);
}

void WsSocket::send_first(Frame text) {
    if (closing()) return;
    if (options_.counters) options_.counters->ws_frames_sent.add();
    std::size_t at = head_ + (front_sent_ > 0 ? 1 : 0);  // a frame begun must end first
    if (at == head_ && head_ > 0) out_[--head_] = {std::move(text), Opcode::text};
    else out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(at), Outgoing{std::move(text), Opcode::text});
    schedule_flush();
}

void WsSocket::release() {
    held_ = false;
    schedule_flush();
}

void WsSocket::close(std::uint16_t code, std::string_view reason, bool after_queue) {
    if (closing()) return;
    queue_close(wire::close_payload(code, reason), after_queue);
}

void WsSocket::push(Frame payload, Opcode opcode) {
    out_.push_back({std::move(payload), opcode});
    schedule_flush();
}

void WsSocket::queue_close(std::string payload, bool after_queue) {
    if (!after_queue) drop_queue();
    close_queued_ = true;
    out_.push_back({make_frame(std::move(payload)), Opcode::close});
    arm_timer(TimerFor::close, options_.close_timeout);
    schedule_flush();
}

// Everything not yet begun; a frame half sent must end, or the stream would be corrupt.
void WsSocket::drop_queue() {
    std::size_t keep = head_ + (front_sent_ > 0 ? 1 : 0);
    out_.erase(out_.begin() + static_cast<std::ptrdiff_t>(keep), out_.end());
}

// The sockets of this thread's loop with frames to write, flushed by one handler posted after
// the handlers that queue them: a room's event costs each loop one post rather than one per
// receiver, and all the frames a burst queues for a socket meanwhile leave together. The
// handler owns the list (a loop destroyed before running it releases the sockets with it);
// the thread only points at the list still open. A thread_local serves as "this loop's"
// because castera runs each event loop on one thread of its own (http/server.cpp).
struct WsSocket::FlushBatch {
    std::vector<std::shared_ptr<WsSocket>> sockets;
    ~FlushBatch() {
        if (open == this) open = nullptr;
    }
    static thread_local FlushBatch* open;
};
thread_local WsSocket::FlushBatch* WsSocket::FlushBatch::open = nullptr;

void WsSocket::schedule_flush() {
    if (flush_posted_ || waiting_writable_ || !socket_.is_open()) return;
    flush_posted_ = true;
    if (!FlushBatch::open) {
        auto batch = std::make_shared<FlushBatch>();
        FlushBatch::open = batch.get();
        asio::post(executor_, [batch] {
            FlushBatch::open = nullptr;
            flush_all(batch->sockets);
        });
    }
    FlushBatch::open->sockets.push_back(shared_from_this());
}

// With a send ring, the sockets' first frames leave in one submission per kEntries sockets
// (one system call where there were as many as sockets: on this VM each one also empties the
// TLB), then whatever is left of a queue leaves as flush() sends it.
void WsSocket::flush_all(const std::vector<std::shared_ptr<WsSocket>>& sockets) {
    for (std::size_t begin = 0; begin < sockets.size(); begin += SendRing::kEntries) {
        std::size_t end = std::min(sockets.size(), begin + SendRing::kEntries);
        // Asked each time: a ring that failed is gone, and what it kept must stay there.
        SendRing* ring = sockets.size() > 1 ? SendRing::of_this_thread() : nullptr;
        if (ring) flush_through(*ring, sockets, begin, end);
        else
            for (std::size_t i = begin; i < end; ++i) sockets[i]->flush();
    }
}

void WsSocket::flush_through(SendRing& ring, const std::vector<std::shared_ptr<WsSocket>>& sockets,
                             std::size_t begin, std::size_t end) {
    struct Send {
        iovec iov[2 * kRingGather];
        wire::Header headers[kRingGather];
        msghdr msg;
        bool done;
    };
    thread_local std::vector<Send> sends(SendRing::kEntries);  // sized once: the kernel reads them
    for (std::size_t i = begin; i < end; ++i) {
        WsSocket& socket = *sockets[i];
        Send& send = sends[i - begin];
        send.done = true;
        socket.flush_posted_ = false;
        if (!socket.socket_.is_open() || socket.waiting_writable_) continue;
        std::size_t count = socket.gather(send.iov, send.headers, kRingGather);
        if (count == 0) continue;
        send.msg = msghdr{};
        send.msg.msg_iov = send.iov;
        send.msg.msg_iovlen = count;
        send.done = false;
        ring.add(socket.socket_.native_handle(), &send.msg, i);
    }
    ring.run([&](std::uint64_t i, int result) {
        WsSocket& socket = *sockets[i];
        sends[i - begin].done = true;
        if (result == -EINTR) return socket.flush();
        if (result < 0) {
            if (would_block(-result)) socket.wait_writable();
            else socket.shut();
            return;
        }
        socket.advance(static_cast<std::size_t>(result));
        socket.flush();  // the rest of its queue, if any
    });
    for (std::size_t i = begin; i < end; ++i)
        if (!sends[i - begin].done) sockets[i]->flush();  // the ring failed before sending it
}

void WsSocket::flush() {
    flush_posted_ = false;
    while (socket_.is_open() && !waiting_writable_) {
        iovec iov[2 * kMaxGather];
        wire::Header headers[kMaxGather];
        std::size_t count = gather(iov, headers, kMaxGather);
        if (count == 0) return;
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = count;
        ssize_t sent = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (would_block(errno)) wait_writable();
            else shut();  // the peer is gone: what is queued cannot reach it
            return;
        }
        advance(static_cast<std::size_t>(sent));
    }
}

// The iovecs of the frames that may leave now, from the unsent part of the first one.
std::size_t WsSocket::gather(iovec* iov, wire::Header* headers, std::size_t max_frames) const {
    if (held_ && !close_queued_) return 0;
    std::size_t count = 0;
    for (std::size_t i = head_, k = 0; i < out_.size() && k < max_frames; ++i, ++k) {
        const Outgoing& frame = out_[i];
        headers[k] = wire::encode_header(frame.opcode, frame.payload->size());
        std::size_t skip = i == head_ ? front_sent_ : 0;
        if (skip < headers[k].size) {
            iov[count++] = {headers[k].bytes.data() + skip, headers[k].size - skip};
            skip = 0;
        } else {
            skip -= headers[k].size;
        }
        if (frame.payload->size() > skip)
            iov[count++] = {const_cast<char*>(frame.payload->data()) + skip, frame.payload->size() - skip};
    }
    return count;
}

void WsSocket::advance(std::size_t sent) {
    bytes_sent_ += sent;
    bool close_done = false;
    while (sent > 0 && head_ < out_.size()) {
        Outgoing& frame = out_[head_];
        std::size_t left = wire::header_size(frame.payload->size()) + frame.payload->size() - front_sent_;
        if (sent < left) {
            front_sent_ += sent;
            break;
        }
        sent -= left;
        front_sent_ = 0;
        close_done = frame.opcode == Opcode::close;
        frame.payload.reset();
        ++head_;
    }
    if (head_ == out_.size()) {
        // Drained: a burst's large queue is let go, so that an idle connection holds none.
        if (out_.capacity() > 16) out_ = {};
        else out_.clear();
        head_ = 0;
    } else if (head_ >= 64 && head_ * 2 >= out_.size()) {
        out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
    if (close_done) on_close_sent();
}

void WsSocket::wait_writable() {
    waiting_writable_ = true;
    socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](boost::system::error_code ec) {
        self->waiting_writable_ = false;
        if (!ec) self->flush();
    });
}

void WsSocket::on_close_sent() {
    close_sent_ = true;
    if (peer_finished_) finish();
    // Otherwise the reader waits for the peer's answer (or the close timer ends it).
}

// ---- Reading ----------------------------------------------------------------------------

Task<std::optional<WsSocket::Message>> WsSocket::read() {
    inbox_start_ += handed_out_bytes_;
    handed_out_bytes_ = 0;
    while (socket_.is_open() && !peer_finished_) {
        std::size_t used = 0;
        wire::Input in = reader_.next(inbox_.get() + inbox_start_, inbox_end_ - inbox_start_, used);
        using Kind = wire::Input::Kind;
        if ((in.kind == Kind::text || in.kind == Kind::binary) && !closing()) {
            handed_out_bytes_ = used;  // the payload may lie in them: consumed at the next call
            co_return Message{in.kind == Kind::text, in.payload};
        }
        inbox_start_ += used;
        switch (in.kind) {
        case Kind::ping:
            if (closing()) break;
            if (queued() >= options_.max_queued) close(kClosePolicy, "outbound queue overflow: reading too slowly", false);
            else push(make_frame(std::string(in.payload)), Opcode::pong);
            break;
        case Kind::close:
            on_close_received(in.close_code);
            co_return std::nullopt;
        case Kind::failed:
            on_protocol_failure(in.close_code);
            co_return std::nullopt;
        case Kind::need_more:
            if (used == 0 && !co_await receive()) co_return std::nullopt;
            break;
        default:  // a pong, or a message after our close: nothing to do
            break;
        }
    }
    co_return std::nullopt;
}

// Reads what the kernel holds, waiting for it when there is nothing: false once the
// connection is over. The wait holds no buffer.
Task<bool> WsSocket::receive() {
    while (socket_.is_open()) {
        make_room();
        ssize_t got = ::recv(socket_.native_handle(), inbox_.get() + inbox_end_, inbox_capacity_ - inbox_end_,
                             MSG_DONTWAIT);
        if (got > 0) {
            inbox_end_ += static_cast<std::size_t>(got);
            bytes_received_ += static_cast<std::uint64_t>(got);
            heard_from_peer_ = true;
            // The other connections of the loop get their turn before these bytes are read as
            // frames: a peer that never stops sending must not hold the loop.
            co_await asio::post(executor_, asio::use_awaitable);
            co_return true;
        }
        if (got < 0 && errno == EINTR) continue;
        if (got == 0 || !would_block(errno)) {
            shut();  // gone without a close frame, or reset
            release_inbox();  // what it holds can never become a whole frame now
            co_return false;
        }
        release_idle_inbox();
        auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
        if (ec) co_return false;  // shut meanwhile
    }
    co_return false;
}

// Moves the bytes of an incomplete frame to the front and leaves at least a read step free.
void WsSocket::make_room() {
    std::size_t kept = inbox_end_ - inbox_start_;
    if (inbox_start_ > 0) {
        std::memmove(inbox_.get(), inbox_.get() + inbox_start_, kept);
        inbox_start_ = 0;
        inbox_end_ = kept;
    }
    if (inbox_capacity_ - kept >= kReadStep / 4) return;
    std::size_t capacity = kept + kReadStep;
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    if (kept > 0) std::memcpy(bigger.get(), inbox_.get(), kept);
    inbox_ = std::move(bigger);
    inbox_capacity_ = capacity;
}

void WsSocket::release_idle_inbox() {
    if (inbox_start_ == inbox_end_) release_inbox();
}

void WsSocket::release_inbox() {
    inbox_.reset();
    inbox_capacity_ = inbox_start_ = inbox_end_ = 0;
}

// The peer's close: answered at once (what was queued and not begun is dropped), unless ours
// is already on its way. The socket is shut once both are sent.
void WsSocket::on_close_received(std::uint16_t code) {
    peer_finished_ = true;
    if (close_sent_) {
        finish();
        return;
    }
    if (close_queued_) return;
    queue_close(code == wire::kCloseNoStatus ? std::string() : wire::close_payload(code, {}), false);
}

// Bytes that break RFC 6455: a close with our code, then the end, without waiting for an
// answer.
void WsSocket::on_protocol_failure(std::uint16_t code) {
    peer_finished_ = true;
    if (code == wire::kCloseTooBig && options_.counters) options_.counters->ws_dropped_frame_size.add();
    if (close_sent_) finish();
    else if (!close_queued_) queue_close(wire::close_payload(code, {}), false);
}

// ---- The end --------------------------------------------------------------------------------

void WsSocket::arm_timer(TimerFor purpose, std::chrono::steady_clock::duration after) {
    timer_for_ = purpose;
    if (after <= std::chrono::steady_clock::duration::zero()) return;
    // A wait that expired but whose handler has not run yet cannot be cancelled: the
    // generation tells its handler it is stale.
    unsigned generation = ++timer_generation_;
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
        if (!ec && generation == self->timer_generation_) self->on_timer();
    });
}

// Keep-alive: a ping after half the idle time without a byte from the peer, the end after all
// of it. During a close: the peer did not answer in time.
void WsSocket::on_timer() {
    if (!socket_.is_open()) return;
    if (timer_for_ == TimerFor::close) {
        shut();
        return;
    }
    if (heard_from_peer_) {
        heard_from_peer_ = false;
        pinged_ = false;
    } else if (!pinged_) {
        pinged_ = true;
        push(make_frame({}), Opcode::ping);
    } else {
        shut();
        return;
    }
    arm_timer(TimerFor::idle, options_.idle_timeout / 2);
}

// The close handshake is over: our side of TCP is shut first (RFC 6455 7.1.1), and what the
// peer still sends is read and dropped until it closes too, so that closing never resets a
// connection whose last frames the peer has not read yet. The close timer bounds it.
void WsSocket::finish() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    drain();
}

void WsSocket::drain() {
    char scratch[4096];
    while (socket_.is_open()) {
        ssize_t got = ::recv(socket_.native_handle(), scratch, sizeof scratch, MSG_DONTWAIT);
        if (got > 0 || (got < 0 && errno == EINTR)) continue;
        if (got < 0 && would_block(errno)) {
            socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
                if (!ec) self->drain();
            });
            return;
        }
        shut();
    }
}

// Closes the socket now: every wait on it and the timer end, and with them the handlers that
// keep this object alive. The inbox stays: the session may still be reading a message in it.
void WsSocket::shut() {
    if (!socket_.is_open()) return;
    boost::system::error_code ignored;
    socket_.close(ignored);
    ++timer_generation_;
    timer_.cancel();
    // Lost rather than closed: what never reached the peer may be sent again on a resume.
    if (!close_queued_ && !peer_finished_)
        for (std::size_t i = head_; i < out_.size(); ++i)
            if (out_[i].opcode == Opcode::text) unsent_.push_back(std::move(out_[i].payload));
    out_ = {};
    head_ = front_sent_ = 0;
}

}  // namespace castera::realtime
