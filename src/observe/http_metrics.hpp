// Per-loop HTTP figures for /metrics: requests by route template, method and status, and a
// latency histogram by route. Fixed arrays of one-writer counters (loop_counter.hpp), indexed
// by the route's position in the router's table, so recording a request is a few relaxed
// stores: no lock, no map, and an allocation only on a route's first request. Summed over
// the loops when scraped.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "observe/loop_counter.hpp"

namespace castera {

class HttpMetrics {
public:
    // Routes of the table, then the admin console's pages, the web pages (web/), and one for
    // paths that match none.
    static constexpr std::size_t kMaxRoutes = 64;
    static constexpr std::size_t kAdminPages = kMaxRoutes - 3;
    static constexpr std::size_t kWebPages = kMaxRoutes - 2;
    static constexpr std::size_t kUnmatched = kMaxRoutes - 1;
    static constexpr std::array<std::string_view, 7> kMethods{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    static constexpr std::size_t kOtherMethod = kMethods.size();
    // The statuses castera answers; anything else counts as "other".
    static constexpr std::array<unsigned, 19> kStatuses{101, 200, 201, 204, 301, 302, 304, 400, 401, 403,
                                                        404, 405, 406, 409, 413, 415, 429, 500, 503};
    static constexpr std::size_t kOtherStatus = kStatuses.size();
    // Upper bounds of the latency buckets, in seconds (Prometheus' le), +Inf last.
    static constexpr std::array<double, 12> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

    // `method` is the request's method name; `route` an index into the router's table, or
    // nothing for a path no route matched.
    HttpMetrics() = default;
    HttpMetrics(const HttpMetrics&) = delete;
    HttpMetrics& operator=(const HttpMetrics&) = delete;
    ~HttpMetrics() {
        for (auto& slot : routes_) delete slot.load(std::memory_order_relaxed);
    }

    void record(std::optional<std::size_t> route, std::string_view method, unsigned status,
                std::chrono::nanoseconds elapsed) {
        std::size_t r = route && *route < kUnmatched ? *route : kUnmatched;
        RouteFigures& f = figures_for(r);
        f.requests[method_index(method)][status_index(status)].add();
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
        double seconds = static_cast<double>(us) / 1e6;
        std::size_t b = 0;
        while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
        f.buckets[b].add();
        f.sum_us.add(static_cast<std::uint64_t>(us));
    }

    // The readers (any thread): zero for a route that has seen no request on this loop.
    std::uint64_t requests(std::size_t route, std::size_t method, std::size_t status) const {
        const RouteFigures* f = routes_[route].load(std::memory_order_acquire);
        return f ? f->requests[method][status].value() : 0;
    }
    // Requests of the route in bucket b (not cumulative; kBuckets.size() is +Inf).
    std::uint64_t bucket(std::size_t route, std::size_t b) const {
        const RouteFigures* f = routes_[route].load(std::memory_order_acquire);
        return f ? f->buckets[b].value() : 0;
    }
    std::uint64_t sum_us(std::size_t route) const {
        const RouteFigures* f = routes_[route].load(std::memory_order_acquire);
        return f ? f->sum_us.value() : 0;
    }

    static std::size_t method_index(std::string_view method) {
        for (std::size_t i = 0; i < kMethods.size(); ++i)
            if (kMethods[i] == method) return i;
        return kOtherMethod;
    }
    static std::size_t status_index(unsigned status) {
        for (std::size_t i = 0; i < kStatuses.size(); ++i)
            if (kStatuses[i] == status) return i;
        return kOtherStatus;
    }

private:
    // One route's figures, made on its first request: a server answers a few of its routes
    // most of the time, and every counter made is memory touched (1.5 KiB a route instead of
    // 70 KiB a loop for all of them up front).
    struct RouteFigures {
        std::array<std::array<LoopCounter, kStatuses.size() + 1>, kMethods.size() + 1> requests;
        std::array<LoopCounter, kBuckets.size() + 1> buckets;
        LoopCounter sum_us;
    };
    // Made by the loop's own thread (the only writer), published to the scrapers with release.
    RouteFigures& figures_for(std::size_t route) {
        RouteFigures* f = routes_[route].load(std::memory_order_relaxed);
        if (!f) {
            f = new RouteFigures();
            routes_[route].store(f, std::memory_order_release);
        }
        return *f;
    }

    std::array<std::atomic<RouteFigures*>, kMaxRoutes> routes_{};
};

}  // namespace castera
