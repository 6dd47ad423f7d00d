// One server-side WebSocket after its upgrade, on a TCP socket of an event loop. The framing
// is ours (ws_wire) rather than Beast's so that every frame waiting for a receiver leaves in
// one system call: a room's burst costs a receiver one sendmsg for dozens of frames instead of
// one each. Pings are answered, keep-alive pings sent and close handshakes completed here;
// the session above sees only messages.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "observe/counters.hpp"
#include "realtime/room_hub.hpp"
#include "realtime/ws_wire.hpp"
#include "store/store.hpp"

namespace castera::realtime {

class SendRing;

class WsSocket : public std::enable_shared_from_this<WsSocket> {
public:
    struct Options {
        std::size_t max_message = 64 << 10;
        // Without a byte from the peer for half of it, a ping; for all of it, the end.
        std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
        // How long a close frame waits for the peer's answer before the socket is shut.
        std::chrono::steady_clock::duration close_timeout = std::chrono::seconds(5);
        // Pongs owed to a peer that does not read past this many queued frames: it is closed
        // (1008) rather than let its pings grow the queue without end.
        std::size_t max_queued = 256;
        // The loop's counters: frames sent, connections closed for an oversized frame.
        LoopCounters* counters = nullptr;
    };

    // Only through std::make_shared: its handlers keep it alive.
    WsSocket(boost::asio::ip::tcp::socket socket, boost::asio::io_context::executor_type executor, Options options);
    // Starts the keep-alive timer.
    void start();

    boost::asio::io_context::executor_type executor() const { return executor_; }

    // ---- Reading: one reader at a time, on the socket's loop.
    struct Message {
        bool text = true;
        std::string_view payload;  // valid until the next read()
    };
    // The next text or binary message; nullopt once the connection is over (closed by either
    // side, failed, timed out). Messages arriving after a close was sent are dropped.
    Task<std::optional<Message>> read();

    // ---- Writing: on the socket's loop. Frames leave in order, gathered.
    void send(Frame text);
    // Before every frame not yet begun (a welcome put together after frames were queued).
    void send_first(Frame text);
    // While held, frames wait in the queue (a close is still sent).
    void hold() { held_ = true; }
    void release();
    // A close frame, after what is queued or at once (the queue dropped); no frame is sent after
    // it. The socket is shut when the peer answers, or after close_timeout.
    void close(std::uint16_t code, std::string_view reason, bool after_queue);

    std::size_t queued() const { return out_.size() - head_; }
    // Bytes on the wire so far, frame headers included (for the access log).
    std::uint64_t bytes_sent() const { return bytes_sent_; }
    std::uint64_t bytes_received() const { return bytes_received_; }
    // A close was sent, queued or received, or the socket is shut.
    bool closing() const { return close_queued_ || !socket_.is_open(); }
    // The connection was lost without a close frame from either side (TCP gone, the idle
    // timeout, drop()).
    bool dropped() const { return !socket_.is_open() && !close_queued_ && !peer_finished_; }
    // Ends the connection as a lost one would end: no close frame, the socket shut now.
    void drop() { shut(); }
    // The text frames that were still queued (a frame half sent among them) when the
    // connection was dropped; each call takes them.
    std::vector<Frame> take_unsent() { return std::exchange(unsent_, {}); }

private:
    struct Outgoing {
        Frame payload;
        wire::Opcode opcode;
    };

    struct FlushBatch;

    void push(Frame payload, wire::Opcode opcode);
    void queue_close(std::string payload, bool after_queue);
    void drop_queue();
    void schedule_flush();
    static void flush_all(const std::vector<std::shared_ptr<WsSocket>>& sockets);
    static void flush_through(SendRing& ring, const std::vector<std::shared_ptr<WsSocket>>& sockets,
                              std::size_t begin, std::size_t end);
    void flush();
    std::size_t gather(struct iovec* iov, wire::Header* headers, std::size_t max_frames) const;
    void advance(std::size_t sent);
    void wait_writable();
    void on_close_sent();

    Task<bool> receive();
    void make_room();
    void release_idle_inbox();
    void release_inbox();
    void on_close_received(std::uint16_t code);
    void on_protocol_failure(std::uint16_t code);

    enum class TimerFor { idle, close };
    void arm_timer(TimerFor purpose, std::chrono::steady_clock::duration after);
    void on_timer();
    void finish();
    void drain();
    void shut();

    boost::asio::ip::tcp::socket socket_;
    boost::asio::io_context::executor_type executor_;
    boost::asio::steady_timer timer_;
    Options options_;

    // Outgoing frames: out_[head_..] wait; the first `front_sent_` bytes of out_[head_] (its
    // header, then its payload) are sent. A vector, not a deque: that allocates even while empty.
    std::vector<Outgoing> out_;
    std::vector<Frame> unsent_;  // of a dropped connection: see take_unsent()
    std::size_t head_ = 0;
    std::size_t front_sent_ = 0;
    bool flush_posted_ = false;
    bool waiting_writable_ = false;
    bool held_ = false;
    bool close_queued_ = false;   // no frame is queued after it
    bool close_sent_ = false;
    bool peer_finished_ = false;  // its close arrived, or its bytes broke the protocol

    // Received bytes: inbox_[inbox_start_, inbox_end_) are not read as frames yet. Freed while
    // empty, so that an idle connection holds no buffer.
    std::unique_ptr<char[]> inbox_;
    std::size_t inbox_capacity_ = 0;
    std::size_t inbox_start_ = 0;
    std::size_t inbox_end_ = 0;
    std::size_t handed_out_bytes_ = 0;  // the frame of the message the last read() handed out
    wire::MessageReader reader_;

    TimerFor timer_for_ = TimerFor::idle;
    unsigned timer_generation_ = 0;
    std::uint64_t bytes_sent_ = 0;
    std::uint64_t bytes_received_ = 0;
    bool heard_from_peer_ = false;  // bytes arrived since the timer last looked
    bool pinged_ = false;
};

}  // namespace castera::realtime
