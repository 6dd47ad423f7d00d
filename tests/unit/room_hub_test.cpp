#include "realtime/room_hub.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <sched.h>

#include <atomic>
#include <future>
#include <thread>

namespace castera {
namespace {

namespace asio = boost::asio;

std::string peer_name(int n) {
    std::string name = "p";
    name += std::to_string(n);
    return name;
}

// A member that notes on which thread, and CPU, each frame reached it.
class RecordingMember final : public RoomMember {
public:
    RecordingMember(int n, bool typed, Loop loop) : RoomMember(peer_name(n), n, "m@example.com", typed, loop) {}
    void deliver(Frame frame) override { asio::post(loop, [this, frame] { deliver_here(frame); }); }
    void deliver_here(const Frame& frame) override {
        std::lock_guard lock(mutex);
        frames.push_back(*frame);
        on_own_loop = on_own_loop && loop.running_in_this_thread();
        last_cpu = ::sched_getcpu();
        ++count;
    }
    void close_after_queue(std::uint16_t, std::string) override {}

    std::mutex mutex;
    std::vector<std::string> frames;
    bool on_own_loop = true;
    int last_cpu = -1;
    std::atomic<int> count{0};
};

// Two event loops, each on its thread, as castera runs them.
struct TwoLoops {
    asio::io_context a, b;
    asio::executor_work_guard<asio::io_context::executor_type> keep_a{a.get_executor()}, keep_b{b.get_executor()};
    std::thread ta{[this] { a.run(); }}, tb{[this] { b.run(); }};
    ~TwoLoops() {
        keep_a.reset();
        keep_b.reset();
        ta.join();
        tb.join();
    }
};

void wait_for(const std::function<bool()>& done) {
    for (int i = 0; i < 2000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(RoomHub, AnEventReachesEveryMemberOnceOnItsOwnLoopInItsProtocol) {
    TwoLoops loops;
    RoomHub hub;
    std::vector<std::shared_ptr<RecordingMember>> members;
    for (int i = 0; i < 6; ++i) {
        auto loop = i % 2 == 0 ? loops.a.get_executor() : loops.b.get_executor();
        members.push_back(std::make_shared<RecordingMember>(i, i < 3, loop));
        ASSERT_EQ(hub.join(1, members.back(), 100, 100), RoomHub::Admission::allowed);
    }
    RoomEvent event{std::make_shared<const std::string>("compat"), std::make_shared<const std::string>("typed")};
    // From loop a (its members served in place), then from a thread of no loop.
    std::promise<void> sent;
    asio::post(loops.a, [&] {
        hub.broadcast(1, event, members[0].get());
        sent.set_value();
    });
    sent.get_future().wait();
    hub.broadcast(1, event);
    wait_for([&] {
        for (auto& m : members)
            if (m->count < (m == members[0] ? 1 : 2)) return false;
        return true;
    });
    for (auto& m : members) {
        std::lock_guard lock(m->mutex);
        std::string expected = m->typed ? "typed" : "compat";
        EXPECT_EQ(m->frames, std::vector<std::string>(m == members[0] ? 1 : 2, expected)) << m->peer_id;
        EXPECT_TRUE(m->on_own_loop) << m->peer_id;
    }
}

TEST(RoomHub, AnEventWithoutAFrameForAProtocolSkipsItsMembers) {
    TwoLoops loops;
    RoomHub hub;
    auto compat = std::make_shared<RecordingMember>(1, false, loops.a.get_executor());
    auto typed = std::make_shared<RecordingMember>(2, true, loops.b.get_executor());
    hub.join(1, compat, 100, 100);
    hub.join(1, typed, 100, 100);
    hub.broadcast(1, RoomEvent{nullptr, std::make_shared<const std::string>("state")});
    wait_for([&] { return typed->count == 1; });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(typed->count, 1);
    EXPECT_EQ(compat->count, 0);
}

// A connection that left (closing, or gone) must not be sent what its loop had not yet
// handed out, and a busy loop's backlog must not hold a copy of the room per event.
TEST(RoomHub, AMemberThatLeftBeforeItsLoopRanAnEventGetsNothing) {
    TwoLoops loops;
    RoomHub hub;
    auto staying = std::make_shared<RecordingMember>(1, false, loops.b.get_executor());
    auto leaving = std::make_shared<RecordingMember>(2, false, loops.b.get_executor());
    hub.join(1, staying, 100, 100);
    hub.join(1, leaving, 100, 100);
    std::promise<void> release;
    asio::post(loops.b, [gate = release.get_future().share()] { gate.wait(); });  // loop b busy
    hub.broadcast(1, RoomEvent{std::make_shared<const std::string>("chat"), nullptr});
    hub.leave(1, leaving.get());
    release.set_value();
    wait_for([&] { return staying->count == 1; });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(staying->count, 1);
    EXPECT_EQ(leaving->count, 0);
}

TEST(RoomHub, LeavingARoomOneIsNotInCountsNothingForItsUser) {
    TwoLoops loops;
    RoomHub hub;
    auto first = std::make_shared<RecordingMember>(7, false, loops.a.get_executor());
    auto second = std::make_shared<RecordingMember>(7, false, loops.a.get_executor());
    auto stranger = std::make_shared<RecordingMember>(7, false, loops.a.get_executor());
    hub.join(1, first, 100, 2);
    hub.join(1, second, 100, 2);
    second.reset();  // gone without leaving: its entry has expired
    hub.leave(1, stranger.get());
    EXPECT_EQ(hub.check(1, 7, 100, 2), RoomHub::Admission::too_many_for_user);
}

// Runs f on `loop`'s thread and waits for it.
void run_on(asio::io_context& loop, const std::function<void()>& f) {
    std::promise<void> done;
    asio::post(loop, [&] {
        f();
        done.set_value();
    });
    done.get_future().wait();
}

void set_affinity(const cpu_set_t& cpus) { ASSERT_EQ(::sched_setaffinity(0, sizeof cpus, &cpus), 0); }

cpu_set_t only(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return set;
}

// Keeps a CPU busy while it lives, so that the scheduler has no idle one to spread threads to.
class BusyCpu {
public:
    explicit BusyCpu(int cpu)
        : thread_([this, cpu] {
              set_affinity(only(cpu));
              while (!stop_) {
              }
          }) {}
    ~BusyCpu() {
        stop_ = true;
        thread_.join();
    }

private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// The kernel wakes a loop on the CPU it last ran on when no idle CPU shares its cache: two
// loops that met on a CPU stayed there, and a room's event reached its two halves from one
// core, one after the other. Here loop b last ran on loop a's CPU and the other CPU is busy,
// as it is during a fan-out: left alone, the kernel serves b's share from a's CPU.
TEST(RoomHub, ALoopHandedAnEventByALoopOnItsCpuServesItFromAnotherCpu) {
    cpu_set_t all;
    ASSERT_EQ(::sched_getaffinity(0, sizeof all, &all), 0);
    if (CPU_COUNT(&all) < 2) GTEST_SKIP() << "needs two CPUs";
    int cpu = 0;
    while (!CPU_ISSET(cpu, &all)) ++cpu;
    int other = cpu + 1;
    while (!CPU_ISSET(other, &all)) ++other;
    TwoLoops loops;
    run_on(loops.a, [&] { set_affinity(only(cpu)); });
    RoomHub hub;
    auto sender = std::make_shared<RecordingMember>(1, false, loops.a.get_executor());
    auto receiver = std::make_shared<RecordingMember>(2, false, loops.b.get_executor());
    hub.join(1, sender, 100, 100);
    hub.join(1, receiver, 100, 100);
    for (int round = 1; round <= 5; ++round) {
        run_on(loops.b, [&] {  // b last ran on `cpu`, and may run anywhere
            set_affinity(only(cpu));
            set_affinity(all);
        });
        BusyCpu busy(other);
        run_on(loops.a, [&] {
            hub.broadcast(1, RoomEvent{std::make_shared<const std::string>("chat"), nullptr}, sender.get());
        });
        wait_for([&] { return receiver->count == round; });
        ASSERT_EQ(receiver->count, round);
        std::lock_guard lock(receiver->mutex);
        EXPECT_NE(receiver->last_cpu, cpu) << "round " << round;
    }
}

}  // namespace
}  // namespace castera
