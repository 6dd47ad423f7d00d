#include "util/cpu.hpp"

#include <gtest/gtest.h>

#include <sched.h>

#include <thread>

namespace castera {
namespace {

cpu_set_t allowed_cpus() {
    cpu_set_t all;
    CPU_ZERO(&all);
    ::sched_getaffinity(0, sizeof all, &all);
    return all;
}

int first_cpu(const cpu_set_t& cpus) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &cpus)) return cpu;
    return -1;
}

cpu_set_t only(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return set;
}

// Runs f on a thread of its own: what it does to its affinity stays there.
void on_a_thread(const std::function<void()>& f) { std::thread(f).join(); }

TEST(MoveOffCpu, AThreadOnTheCpuRunsElsewhereAndKeepsItsAffinity) {
    cpu_set_t all = allowed_cpus();
    if (CPU_COUNT(&all) < 2) GTEST_SKIP() << "needs two CPUs";
    int cpu = first_cpu(all);
    on_a_thread([&] {
        cpu_set_t one = only(cpu);
        ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
        ASSERT_EQ(::sched_setaffinity(0, sizeof all, &all), 0);  // may leave now, but need not
        ASSERT_EQ(current_cpu(), cpu);
        EXPECT_TRUE(move_off_cpu(cpu));
        EXPECT_NE(current_cpu(), cpu);
        cpu_set_t after = allowed_cpus();
        EXPECT_TRUE(CPU_EQUAL(&after, &all));
    });
}

TEST(MoveOffCpu, AThreadElsewhereOrWithNowhereToGoStaysPut) {
    cpu_set_t all = allowed_cpus();
    int cpu = first_cpu(all);
    on_a_thread([&] {
        EXPECT_FALSE(move_off_cpu(-1));
        int here = current_cpu();
        for (int other = 0; other < CPU_SETSIZE; ++other) {
            if (other == here || !CPU_ISSET(other, &all)) continue;
            EXPECT_FALSE(move_off_cpu(other));
        }
        cpu_set_t one = only(cpu);
        ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
        EXPECT_FALSE(move_off_cpu(cpu));  // the only CPU it may use
        EXPECT_EQ(current_cpu(), cpu);
    });
}

}  // namespace
}  // namespace castera
