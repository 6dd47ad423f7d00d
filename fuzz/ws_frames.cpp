// Fuzz target: what a WebSocket client sends after the upgrade, read by the real WsSocket
// (realtime/ws_socket.cpp: framing, unmasking, fragments put together, UTF-8 and size checks,
// pings answered, the close handshake) on one end of a socket pair, as castera reads a TCP
// socket. The first byte chooses the message limit and whether messages are echoed back (so
// that sending runs between reads, as in a room); the second how many bytes arrive at a time,
// so that frames are split across reads. The input's end is the client closing its side.
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <cstdint>

#include "realtime/ws_socket.hpp"

namespace {

using namespace castera;
using realtime::WsSocket;
namespace asio = boost::asio;

// The limits a room might have: a control frame's size, a small one, the default.
constexpr std::array<std::size_t, 4> kMaxMessage = {125, 1024, 64 << 10, 1 << 20};

// Reads messages until the connection is over, echoing each when asked, as a session would.
Task<void> read_all(std::shared_ptr<WsSocket> ws, bool echo) {
    while (auto message = co_await ws->read()) {
        if (echo && message->text)
            ws->send(std::make_shared<const std::string>(message->payload.substr(0, 256)));
    }
}

// Takes whatever the server sent, so that its writes never wait on a full socket buffer.
void discard_replies(int fd) {
    char sink[4096];
    while (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
    }
}

// The socket pair's two ends, closed whatever happens.
struct Pair {
    Pair() {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0) __builtin_trap();
    }
    ~Pair() {
        if (fds[1] >= 0) ::close(fds[1]);
    }
    std::array<int, 2> fds{-1, -1};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t max_message = kMaxMessage[data[0] & 3];
    const bool echo = (data[0] & 4) != 0;
    const std::size_t step = data[1] == 0 ? size : data[1];
    data += 2;
    size -= 2;

    asio::io_context io;
    Pair pair;
    asio::ip::tcp::socket server(io);
    server.assign(asio::ip::tcp::v4(), pair.fds[0]);
    auto ws = std::make_shared<WsSocket>(std::move(server), io.get_executor(),
                                         WsSocket::Options{.max_message = max_message,
                                                           .close_timeout = std::chrono::milliseconds(1),
                                                           .max_queued = 8});
    asio::co_spawn(io, read_all(ws, echo), asio::detached);
    for (std::size_t at = 0; at < size; at += step) {
        std::size_t n = std::min(step, size - at);
        if (::send(pair.fds[1], data + at, n, MSG_NOSIGNAL) < 0) break;  // the server shut its end
        io.poll();
        discard_replies(pair.fds[1]);
    }
    ::shutdown(pair.fds[1], SHUT_WR);
    io.run();
    discard_replies(pair.fds[1]);
    return 0;
}
