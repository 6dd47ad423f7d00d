#include "ws_conn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>

namespace wsload {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

enum Opcode : std::uint8_t { continuation = 0, text = 1, close_frame = 8, ping = 9, pong = 10 };

// Any fixed key will do: the server unmasks whatever it gets, at the same cost.
constexpr char kMask[4] = {0x37, 0x5a, 0x1c, 0x66};

void encode_frame(std::string& out, std::uint8_t opcode, std::string_view payload) {
    std::size_t n = payload.size();
    out.push_back(static_cast<char>(0x80 | opcode));
    if (n < 126) {
        out.push_back(static_cast<char>(0x80 | n));
    } else if (n < 65536) {
        out.push_back(static_cast<char>(0x80 | 126));
        out.push_back(static_cast<char>(n >> 8));
        out.push_back(static_cast<char>(n & 0xff));
    } else {
        out.push_back(static_cast<char>(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
    }
    out.append(kMask, 4);
    for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>(payload[i] ^ kMask[i % 4]));
}

std::string upgrade_request(const Target& target) {
    std::string req = "GET " + target.path + " HTTP/1.1\r\nHost: " + target.host + "\r\n";
    req += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    req += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    req += "Sec-WebSocket-Protocol: castera.v2\r\n\r\n";
    return req;
}

// The status code of "HTTP/1.1 101 Switching Protocols", or 0.
int status_of(std::string_view head) {
    if (head.size() < 12 || !head.starts_with("HTTP/1.1 ")) return 0;
    int status = 0;
    for (char c : head.substr(9, 3)) status = status * 10 + (c - '0');
    return status;
}

std::int64_t nanoseconds(const timespec& t) { return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

// The kernel stamps received segments with the wall clock; the chats carry the steady clock.
// Both advance together over the microseconds between the stamp and now.
std::int64_t steady_from_realtime(const timespec& stamp) {
    timespec wall_now, steady_now;
    ::clock_gettime(CLOCK_REALTIME, &wall_now);
    ::clock_gettime(CLOCK_MONOTONIC, &steady_now);
    return nanoseconds(steady_now) - (nanoseconds(wall_now) - nanoseconds(stamp));
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(use_tuple);
}

}  // namespace

void encode_text(std::string& out, std::string_view payload) { encode_frame(out, text, payload); }

void encode_close(std::string& out) { encode_frame(out, close_frame, std::string_view("\x03\xe8", 2)); }

WorkerPool::WorkerPool(int threads) {
    for (int i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>(i));
    for (auto& w : workers_)
        threads_.emplace_back([&io = w->io] {
            auto guard = asio::make_work_guard(io);
            io.run();
        });
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::stop() {
    if (stopped_) return;
    stopped_ = true;
    for (auto& w : workers_) w->io.stop();
    for (auto& t : threads_) t.join();
}

asio::awaitable<OpenResult> WsConn::open(const Target& target, std::chrono::milliseconds timeout) {
    using namespace asio::experimental::awaitable_operators;
    auto outcome = co_await (connect_and_upgrade(target) || sleep_for(timeout));
    OpenResult result = outcome.index() == 1 ? OpenResult::timed_out : std::get<0>(outcome);
    if (result != OpenResult::opened) {
        boost::system::error_code ignored;
        socket_.close(ignored);  // a refused socket must not use up a descriptor
    }
    co_return result;
}

asio::awaitable<OpenResult> WsConn::connect_and_upgrade(const Target& target) {
    boost::system::error_code ec;
    socket_.open(target.server.protocol(), ec);
    // The port is chosen at connect time, per destination: each source address then offers
    // its ~28,000 ephemeral ports to every server port, not once in all.
    if (!ec) {
        int on = 1;
        ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
        socket_.bind(tcp::endpoint(target.source, 0), ec);
    }
    if (!ec) std::tie(ec) = co_await socket_.async_connect(target.server, use_tuple);
    if (!ec) socket_.set_option(tcp::no_delay(true), ec);
    if (!ec) {
        int on = 1;  // receive times from the kernel: see arrival_ns()
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    }
    std::string request = upgrade_request(target);
    if (!ec) std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(request), use_tuple);
    if (ec) co_return OpenResult::connect_failed;

    auto [read_ec, head_size] =
        co_await asio::async_read_until(socket_, asio::dynamic_buffer(carry_), "\r\n\r\n", use_tuple);
    if (read_ec) co_return OpenResult::connect_failed;
    http_status_ = static_cast<std::int16_t>(status_of(carry_));
    if (http_status_ != 101) co_return OpenResult::refused;
    // Whatever followed the answer's head is already the start of the frames (the welcome).
    std::string rest = carry_.substr(head_size);
    carry_.clear();
    carry_.shrink_to_fit();
    socket_.non_blocking(true, ec);
    open_ = true;
    if (!rest.empty()) absorb(rest);
    if (open_) arm_read();
    co_return OpenResult::opened;
}

void WsConn::arm_read() {
    socket_.async_wait(tcp::socket::wait_read, [this](boost::system::error_code ec) {
        if (ec == asio::error::operation_aborted || !open_) return;
        if (ec) return fail();
        on_readable();
    });
}

// Reads what is there into the worker's buffer and parses it before anyone else can use it.
void WsConn::on_readable() {
    auto& buffer = worker_.read_buffer;
    while (open_) {
        boost::system::error_code ec;
        std::size_t n = receive(buffer, ec);
        if (ec == asio::error::would_block) break;
        if (ec) return fail();
        absorb(std::string_view(buffer.data(), n));
        if (n < buffer.size()) break;  // drained; waiting again re-arms the edge trigger
    }
    if (open_) arm_read();
}

// One recvmsg into the worker's buffer, with the kernel's receive time of the bytes when the
// socket has SO_TIMESTAMPNS on (the time of the last segment read; one frame at a time in the
// latency run).
std::size_t WsConn::receive(std::array<char, 64 * 1024>& buffer, boost::system::error_code& ec) {
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        ec = errno == EAGAIN || errno == EWOULDBLOCK ? asio::error::would_block
                                                    : boost::system::error_code(errno, boost::system::system_category());
        return 0;
    }
    if (n == 0) {
        ec = asio::error::eof;
        return 0;
    }
    arrival_ns_ = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
        timespec received;
        std::memcpy(&received, CMSG_DATA(c), sizeof received);
        arrival_ns_ = steady_from_realtime(received);
    }
    return static_cast<std::size_t>(n);
}

void WsConn::absorb(std::string_view bytes) {
    if (carry_.empty()) {
        std::size_t used = parse_frames(bytes);
        if (open_ && used < bytes.size()) carry_.assign(bytes.substr(used));
        return;
    }
    carry_.append(bytes);
    std::size_t used = parse_frames(carry_);
    carry_.erase(0, used);
    if (carry_.empty() && carry_.capacity() > 4096) carry_.shrink_to_fit();
}

// Handles every complete frame in `data`; returns how many bytes they took.
std::size_t WsConn::parse_frames(std::string_view data) {
    std::size_t at = 0;
    while (open_ && data.size() - at >= 2) {
        auto b0 = static_cast<std::uint8_t>(data[at]);
        auto b1 = static_cast<std::uint8_t>(data[at + 1]);
        std::size_t head = 2;
        std::uint64_t length = b1 & 0x7f;
        std::size_t extra = length == 126 ? 2 : length == 127 ? 8 : 0;
        if (data.size() - at < head + extra) break;
        if (extra) {
            length = 0;
            for (std::size_t i = 0; i < extra; ++i)
                length = (length << 8) | static_cast<std::uint8_t>(data[at + 2 + i]);
            head += extra;
        }
        if (b1 & 0x80) {  // a server never masks: this is not a WebSocket peer we understand
            fail();
            break;
        }
        if (data.size() - at - head < length) break;
        on_frame(b0 & 0x0f, data.substr(at + head, length));
        at += head + length;
    }
    return at;
}

void WsConn::on_frame(std::uint8_t opcode, std::string_view payload) {
    switch (opcode) {
    case text:
        listener_.on_text(*this, payload);
        break;
    case ping: {
        std::string frame;
        encode_frame(frame, pong, payload);
        write(frame);
        break;
    }
    case close_frame: {
        if (payload.size() >= 2)
            close_code_ = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                                     static_cast<std::uint8_t>(payload[1]));
        std::string frame;
        encode_frame(frame, close_frame, payload.substr(0, 2));
        write(frame);
        fail();
        break;
    }
    default:  // continuations of a fragmented message, binary, pongs: nothing to learn
        break;
    }
}

void WsConn::send_text(std::string_view payload) {
    std::string frame;
    encode_frame(frame, text, payload);
    write(frame);
}

void WsConn::send_raw(std::string_view frames) { write(frames); }

// Writes at once what the socket takes; the rest waits in the outbox for writability.
void WsConn::write(std::string_view bytes) {
    if (!open_) return;
    if (writing_) {
        outbox_.append(bytes);
        return;
    }
    boost::system::error_code ec;
    std::size_t n = socket_.write_some(asio::buffer(bytes), ec);
    if (ec == asio::error::would_block) n = 0;
    else if (ec) return fail();
    if (n == bytes.size()) return;
    outbox_.assign(bytes.substr(n));
    arm_write();
}

void WsConn::arm_write() {
    writing_ = true;
    socket_.async_wait(tcp::socket::wait_write, [this](boost::system::error_code ec) {
        if (ec == asio::error::operation_aborted || !open_) return;
        if (ec) return fail();
        std::size_t n = socket_.write_some(asio::buffer(outbox_), ec);
        if (ec && ec != asio::error::would_block) return fail();
        outbox_.erase(0, n);
        if (!outbox_.empty()) return arm_write();
        writing_ = false;
        outbox_.shrink_to_fit();
    });
}

void WsConn::close() {
    open_ = false;
    boost::system::error_code ignored;
    socket_.close(ignored);
}

void WsConn::fail() {
    if (!open_) return;
    close();
    listener_.on_closed(*this);
}

}  // namespace wsload
