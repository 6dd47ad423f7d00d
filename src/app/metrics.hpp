// /metrics for a running server: every loop's counters summed, the process counters, the
// rooms, the bus and the process itself (memory, descriptors, CPU, start time), in Prometheus'
// text format. Built on demand, on whichever loop serves the scrape.
#pragma once

#include <chrono>
#include <string>

#include "observe/metrics_source.hpp"

namespace castera {

struct App;

class AppMetrics final : public MetricsSource {
public:
    explicit AppMetrics(App& app) : app_(app), started_(std::chrono::system_clock::now()) {}
    std::string exposition() const override;
    std::string_view bearer_token() const override;

private:
    App& app_;
    std::chrono::system_clock::time_point started_;
};

}  // namespace castera
