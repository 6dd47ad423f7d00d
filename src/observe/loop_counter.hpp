// The two kinds of per-loop figure: a counter and a level, each written by one thread only (a
// relaxed load and store, never a read-modify-write shared between cores) and read by any.
#pragma once

#include <atomic>
#include <cstdint>

namespace castera {

// Written by one thread only; read by any.
class LoopCounter {
public:
    void add(std::uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

// A level (open connections, statements in flight), written by one thread only.
class LoopGauge {
public:
    void add(std::int64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    void sub(std::int64_t n = 1) { add(-n); }
    std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> value_{0};
};

}  // namespace castera
