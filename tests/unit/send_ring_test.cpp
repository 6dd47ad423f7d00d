#include "realtime/send_ring.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace castera::realtime {
namespace {

struct SocketPair {
    int fds[2] = {-1, -1};
    SocketPair() { ::socketpair(AF_UNIX, SOCK_STREAM, 0, fds); }
    ~SocketPair() {
        ::close(fds[0]);
        ::close(fds[1]);
    }
};

struct OneBuffer {
    explicit OneBuffer(std::string text) : bytes(std::move(text)) {
        iov = {bytes.data(), bytes.size()};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
    }
    std::string bytes;
    iovec iov{};
    msghdr msg{};
};

TEST(SendRing, ReportsEachSendsBytesOrErrorAndNeverBlocks) {
    SendRing* ring = SendRing::of_this_thread();
    if (!ring) GTEST_SKIP() << "io_uring is not available here";
    SocketPair open, full;
    ::fcntl(full.fds[0], F_SETFL, O_NONBLOCK);
    std::string filler(4096, 'x');
    while (::send(full.fds[0], filler.data(), filler.size(), MSG_DONTWAIT) > 0) {
    }
    OneBuffer hello("hello"), more("more");
    ring->add(open.fds[0], &hello.msg, 1);
    ring->add(full.fds[0], &more.msg, 2);
    ring->add(-1, &more.msg, 3);
    std::map<std::uint64_t, int> results;
    EXPECT_TRUE(ring->run([&](std::uint64_t tag, int result) { results[tag] = result; }));
    EXPECT_EQ(results, (std::map<std::uint64_t, int>{{1, 5}, {2, -EAGAIN}, {3, -EBADF}}));
    char got[16] = {};
    EXPECT_EQ(::recv(open.fds[1], got, sizeof got, MSG_DONTWAIT), 5);
    EXPECT_STREQ(got, "hello");
    EXPECT_TRUE(ring->run([&](std::uint64_t, int) { ADD_FAILURE() << "nothing was queued"; }));
}

// A send the kernel refuses at submission (here: no message to read) stops the submission
// there; the sends behind it are not taken. run() must neither wait for them nor ever send
// them later: it reports what was taken, and the ring is not used again.
TEST(SendRing, ASubmissionTheKernelStopsPartWayEndsTheRing) {
    auto finished = std::make_shared<std::promise<void>>();  // the thread may outlive a failed test
    auto ready = finished->get_future();
    std::thread([finished] {
        SendRing* ring = SendRing::of_this_thread();
        if (!ring) return finished->set_value();
        SocketPair pair;
        OneBuffer first("first"), third("third");
        ring->add(pair.fds[0], &first.msg, 1);
        ring->add(pair.fds[0], nullptr, 2);
        ring->add(pair.fds[0], &third.msg, 3);
        std::map<std::uint64_t, int> results;
        EXPECT_FALSE(ring->run([&](std::uint64_t tag, int result) { results[tag] = result; }));
        EXPECT_EQ(results.count(3), 0u);
        EXPECT_EQ(results[1], 5);
        EXPECT_EQ(SendRing::of_this_thread(), nullptr);
        char got[16] = {};
        EXPECT_EQ(::recv(pair.fds[1], got, sizeof got, MSG_DONTWAIT), 5);  // "first", never "third"
        finished->set_value();
    }).detach();
    ASSERT_EQ(ready.wait_for(std::chrono::seconds(5)), std::future_status::ready)
        << "run() waited for sends the kernel never took";
}

}  // namespace
}  // namespace castera::realtime
