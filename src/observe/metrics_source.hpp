// What /metrics shows, as the API sees it: the exposition of everything castera counts
// (built where the counters, the rooms and the bus are known: app/metrics.cpp), and the token
// a scraper must present, if any.
#pragma once

#include <string>
#include <string_view>

namespace castera {

class MetricsSource {
public:
    virtual ~MetricsSource() = default;
    // Prometheus' text format, summed over the loops at this moment.
    virtual std::string exposition() const = 0;
    // CASTERA_METRICS_TOKEN: when not empty, a scrape needs "Authorization: Bearer <token>".
    virtual std::string_view bearer_token() const = 0;
};

}  // namespace castera
