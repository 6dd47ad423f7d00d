#include "realtime/ws_socket.hpp"

#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <future>
#include <thread>

#include "ws_test_client.hpp"

namespace castera::realtime {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using testing::ClientFrame;
using testing::encode;
using testing::FrameReader;

Frame text(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

// A WebSocket after its upgrade: the server side on `io`, the client a blocking socket.
struct Pair {
    explicit Pair(asio::io_context& io) : client(io) {
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        client.connect(acceptor.local_endpoint());
        tcp::socket server(io);
        acceptor.accept(server);
        timeval two_seconds{2, 0};
        ::setsockopt(client.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds);
        reader = FrameReader(client.native_handle());
        server_fd = server.native_handle();
        ws = std::make_shared<WsSocket>(std::move(server), io.get_executor(),
                                        WsSocket::Options{.max_message = 1 << 20});
    }
    void send(const ClientFrame& frame) {
        std::string bytes = encode(frame);
        asio::write(client, asio::buffer(bytes));
    }

    tcp::socket client;
    std::shared_ptr<WsSocket> ws;
    FrameReader reader{-1};
    int server_fd = -1;
};

// The loop on a thread of its own, as castera runs it; `on_loop` runs a call there.
struct LoopThread {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> keep{io.get_executor()};
    std::thread thread{[this] { io.run(); }};
    ~LoopThread() {
        keep.reset();
        io.stop();
        thread.join();
    }
    void on_loop(std::function<void()> call) {
        std::promise<void> done;
        asio::post(io, [&] {
            call();
            done.set_value();
        });
        done.get_future().wait();
    }
};

TEST(WsSocket, FramesOfEverySizeLeaveInOrder) {
    LoopThread loop;
    Pair pair(loop.io);
    std::vector<std::string> sent;
    for (int i = 0; i < 300; ++i) sent.push_back(std::string(i % 3 == 0 ? 70000 : i % 3 == 1 ? 300 : 20, char('a' + i % 26)));
    loop.on_loop([&] {
        for (auto& s : sent) pair.ws->send(text(s));
    });
    for (std::size_t i = 0; i < sent.size(); ++i) {
        auto frame = pair.reader.next();
        ASSERT_TRUE(frame) << i;
        EXPECT_EQ(frame->opcode, 0x1);
        EXPECT_EQ(frame->payload, sent[i]) << i;
    }
    loop.on_loop([&] { EXPECT_EQ(pair.ws->queued(), 0u); });
}

// More sockets than one send ring submission takes, each with small frames and frames larger
// than its socket buffer (their rest leaves later, when the peer has read).
TEST(WsSocket, TheSocketsOfALoopFlushedTogetherEachGetTheirFramesInOrder) {
    LoopThread loop;
    std::vector<std::unique_ptr<Pair>> pairs;
    for (int i = 0; i < 150; ++i) pairs.push_back(std::make_unique<Pair>(loop.io));
    auto frames_for = [](int pair) {
        std::vector<std::string> frames;
        for (int i = 0; i < 12; ++i)
            frames.push_back(std::string(i % 4 == 3 && pair % 10 == 0 ? 300000 : 40 + pair, char('a' + i)));
        return frames;
    };
    loop.on_loop([&] {
        for (int p = 0; p < 150; ++p)
            for (auto& f : frames_for(p)) pairs[p]->ws->send(text(f));
    });
    for (int p = 0; p < 150; ++p) {
        auto expected = frames_for(p);
        for (std::size_t i = 0; i < expected.size(); ++i) {
            auto frame = pairs[p]->reader.next();
            ASSERT_TRUE(frame) << "pair " << p << ", frame " << i;
            EXPECT_EQ(frame->payload, expected[i]) << "pair " << p << ", frame " << i;
        }
    }
    loop.on_loop([&] {
        for (auto& pair : pairs) EXPECT_EQ(pair->ws->queued(), 0u);
    });
}

TEST(WsSocket, ReadsMessagesAndAnswersPings) {
    LoopThread loop;
    Pair pair(loop.io);
    std::promise<std::string> got;
    asio::co_spawn(loop.io, [&]() -> Task<void> {
        auto message = co_await pair.ws->read();
        got.set_value(message ? std::string(message->payload) : "<none>");
    }, asio::detached);
    pair.send({.opcode = 0x9, .payload = "hi?"});
    pair.send({.opcode = 0x1, .payload = "{\"type\":\"ping\"}"});
    auto result = got.get_future();
    ASSERT_EQ(result.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_EQ(result.get(), "{\"type\":\"ping\"}");
    auto pong = pair.reader.next();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->opcode, 0xA);
    EXPECT_EQ(pong->payload, "hi?");
}

TEST(WsSocket, ACloseAfterTheQueueFollowsItAndEndsWithThePeersAnswer) {
    LoopThread loop;
    Pair pair(loop.io);
    std::promise<bool> reader_done;
    asio::co_spawn(loop.io, [&]() -> Task<void> {
        auto message = co_await pair.ws->read();  // waits for the peer's answer
        reader_done.set_value(!message.has_value());
    }, asio::detached);
    loop.on_loop([&] {
        pair.ws->hold();  // held frames wait, but a close still goes after them
        for (int i = 0; i < 3; ++i) pair.ws->send(text("frame " + std::to_string(i)));
        pair.ws->close(4000, "the meeting has ended", true);
        pair.ws->send(text("never sent"));
    });
    for (int i = 0; i < 3; ++i) EXPECT_EQ(pair.reader.next()->payload, "frame " + std::to_string(i));
    auto close = pair.reader.next();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->opcode, 0x8);
    EXPECT_EQ(close->payload, wire::close_payload(4000, "the meeting has ended"));
    pair.send({.opcode = 0x8, .payload = close->payload.substr(0, 2)});
    auto ended = reader_done.get_future();
    ASSERT_EQ(ended.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_TRUE(ended.get());
    EXPECT_TRUE(pair.reader.at_end());  // the server closed TCP once both closes were sent
}

TEST(WsSocket, APeerThatAlwaysHasBytesWaitingLetsTheLoopServeOthers) {
    asio::io_context io;
    Pair pair(io);
    // Zero-length fragments of a message that never ends: as much as the kernel takes.
    std::string flood = encode({.opcode = 0x1, .fin = false});
    std::string piece = encode({.opcode = 0x0, .fin = false});
    while (flood.size() < (1 << 20)) flood += piece;
    std::size_t written = 0;
    while (written < flood.size()) {
        ssize_t n = ::send(pair.client.native_handle(), flood.data() + written, flood.size() - written, MSG_DONTWAIT);
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
    }
    ASSERT_GT(written, 64u << 10);
    asio::co_spawn(io, [&]() -> Task<void> { co_await pair.ws->read(); }, asio::detached);
    int unread_when_others_ran = -1;
    asio::post(io, [&] { ::ioctl(pair.server_fd, FIONREAD, &unread_when_others_ran); });
    io.run_for(std::chrono::milliseconds(200));
    EXPECT_GT(unread_when_others_ran, 0);  // the other handler ran before the reader took everything
}

TEST(WsSocket, ALoopDestroyedWithAWriteBatchPendingLetsTheSocketGo) {
    std::weak_ptr<WsSocket> gone;
    {
        asio::io_context io;
        Pair pair(io);
        pair.ws->send(text("queued, never written"));  // its write batch is posted, never run
        gone = pair.ws;
        pair.ws.reset();
    }
    EXPECT_TRUE(gone.expired());
    // A later loop on this thread starts a batch of its own.
    asio::io_context io;
    Pair pair(io);
    pair.ws->send(text("written"));
    io.run_for(std::chrono::milliseconds(50));
    EXPECT_EQ(pair.reader.next()->payload, "written");
}

}  // namespace
}  // namespace castera::realtime
