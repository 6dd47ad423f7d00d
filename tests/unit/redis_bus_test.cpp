// The Redis bus between two instances in one process: each with its own hub, bus thread and
// event loop, one throwaway redis-server between them. What crosses threads here (a loop
// posting to its bus loop, the bus loop handing frames to a member's loop) is what the
// ThreadSanitizer build checks. Skipped when redis-server is not installed
// (scripts/install-deps installs it).
#include "bus/redis_bus.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace castera {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        return 0;
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

// True once something answers PING with +PONG on the port.
bool answers_ping(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        const char ping[] = "PING\r\n";
        char answer[16] = {};
        ok = ::write(fd, ping, sizeof ping - 1) == sizeof ping - 1 && ::read(fd, answer, sizeof answer) >= 5 &&
             std::string_view(answer, 5) == "+PONG";
    }
    ::close(fd);
    return ok;
}

// redis-server on a free port of 127.0.0.1, without persistence, for one test.
class RedisServer {
public:
    RedisServer() {
        port_ = free_port();
        std::string port = std::to_string(port_);
        std::vector<std::string> args{"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t files;
        posix_spawn_file_actions_init(&files);
        posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&files, 2, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addchdir_np(&files, "/");
        if (port_ == 0 || ::posix_spawnp(&pid_, "redis-server", &files, nullptr, argv.data(), environ) != 0) pid_ = 0;
        posix_spawn_file_actions_destroy(&files);
        if (pid_ != 0 && !wait_for([this] { return answers_ping(port_); })) stop();
    }
    ~RedisServer() { stop(); }

    bool running() const { return pid_ != 0; }
    Config::Redis settings() const {
        Config::Redis r;
        r.host = "127.0.0.1";
        r.port = static_cast<std::uint16_t>(port_);
        return r;
    }

private:
    void stop() {
        if (pid_ == 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = 0;
    }

    int port_ = 0;
    pid_t pid_ = 0;
};

// A member that keeps what reaches it, and whether it came on its own loop. A frame still on
// its way when the test ends finds it gone.
class RecordingMember final : public RoomMember, public std::enable_shared_from_this<RecordingMember> {
public:
    RecordingMember(std::string peer, Id user, Loop loop) : RoomMember(std::move(peer), user, "m@example.com", true, loop) {}
    void deliver(Frame frame) override {
        asio::post(loop, [self = weak_from_this(), frame] {
            if (auto member = self.lock()) member->deliver_here(frame);
        });
    }
    void deliver_here(const Frame& frame) override {
        std::lock_guard lock(mutex_);
        frames_.push_back(*frame);
        on_own_loop_ = on_own_loop_ && loop.running_in_this_thread();
    }
    void close_after_queue(std::uint16_t, std::string) override {}

    std::vector<std::string> frames() {
        std::lock_guard lock(mutex_);
        return frames_;
    }
    bool on_own_loop() {
        std::lock_guard lock(mutex_);
        return on_own_loop_;
    }

private:
    std::mutex mutex_;
    std::vector<std::string> frames_;
    bool on_own_loop_ = true;
};

// One castera instance: an event loop on its thread, the hub, and the Redis bus.
struct Instance {
    explicit Instance(const Config::Redis& settings) : bus(bus::make_redis_bus(settings, hub, counters)) {}
    ~Instance() {
        bus->stop();  // as the server does: the loops stop first, then the bus
        keep.reset();
        thread.join();
    }

    // Runs f on the loop and waits for it.
    void on_loop(const std::function<void()>& f) {
        std::promise<void> done;
        asio::post(io, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    }

    template <typename T>
    T await_on_loop(Task<T> task) {
        return asio::co_spawn(io, std::move(task), asio::use_future).get();
    }

    std::shared_ptr<RecordingMember> join(Id meeting, std::string peer, Id user) {
        auto member = std::make_shared<RecordingMember>(std::move(peer), user, io.get_executor());
        on_loop([&] {
            hub.join(meeting, member, 100, 100);
            bus->joined(meeting, *member);
        });
        return member;
    }

    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> keep{io.get_executor()};
    std::thread thread{[this] { io.run(); }};
    RoomHub hub;
    ProcessCounters counters;
    std::unique_ptr<RoomBus> bus;
};

bool lists(const std::vector<PeerInfo>& peers, const std::string& peer) {
    return std::any_of(peers.begin(), peers.end(), [&](const PeerInfo& p) { return p.peer_id == peer; });
}

class RedisBusTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!redis.running()) GTEST_SKIP() << "redis-server is not installed";
        a = std::make_unique<Instance>(redis.settings());
        b = std::make_unique<Instance>(redis.settings());
        ASSERT_TRUE(wait_for([&] {
            return a->bus->state() == BusState::connected && b->bus->state() == BusState::connected;
        })) << "the buses did not connect";
    }
    void TearDown() override {
        b.reset();
        a.reset();
    }

    // Until instance a lists the peer among the room's members on other instances.
    bool a_sees(Id meeting, const std::string& peer) {
        return wait_for([&] { return lists(a->await_on_loop(a->bus->remote_members(meeting)), peer); });
    }

    RedisServer redis;
    std::unique_ptr<Instance> a, b;
};

TEST_F(RedisBusTest, AnEventReachesTheOtherInstancesMembersOnTheirOwnLoop) {
    auto here = a->join(1, "peer-a", 1);
    auto there = b->join(1, "peer-b", 2);
    ASSERT_TRUE(a_sees(1, "peer-b"));
    // b subscribes to the room's channel on a connection of its own: send until it hears.
    ASSERT_TRUE(wait_for([&] {
        a->on_loop([&] {
            a->bus->broadcast(1, RoomEvent{nullptr, std::make_shared<const std::string>("{\"n\":1}")}, here.get());
        });
        return wait_for([&] { return !there->frames().empty(); }, 100ms);
    }));
    EXPECT_EQ(there->frames().front(), "{\"n\":1}");
    EXPECT_TRUE(there->on_own_loop());
    EXPECT_TRUE(here->frames().empty());  // the sender was left out
}

TEST_F(RedisBusTest, ASignalGoesToThePeerOnTheOtherInstance) {
    auto here = a->join(1, "peer-a", 1);
    auto there = b->join(1, "peer-b", 2);
    ASSERT_TRUE(a_sees(1, "peer-b"));
    ASSERT_TRUE(wait_for([&] {
        return a->await_on_loop(a->bus->send_to_remote_peer(1, "peer-b", std::make_shared<const std::string>("{\"sdp\":1}")));
    }));
    ASSERT_TRUE(wait_for([&] { return !there->frames().empty(); }));
    EXPECT_EQ(there->frames().front(), "{\"sdp\":1}");
    EXPECT_TRUE(there->on_own_loop());
    EXPECT_FALSE(a->await_on_loop(a->bus->send_to_remote_peer(1, "nobody", std::make_shared<const std::string>("{}"))));
}

TEST_F(RedisBusTest, AMemberThatLeftIsNoLongerListedElsewhere) {
    auto there = b->join(1, "peer-b", 2);
    ASSERT_TRUE(a_sees(1, "peer-b"));
    b->on_loop([&] {
        b->hub.leave(1, there.get());
        b->bus->left(1, *there);
    });
    EXPECT_TRUE(wait_for([&] { return !lists(a->await_on_loop(a->bus->remote_members(1)), "peer-b"); }));
}

}  // namespace
}  // namespace castera
