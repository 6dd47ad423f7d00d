// Prometheus' text exposition format (version 0.0.4): families with HELP and TYPE, samples
// with escaped label values. Enough for castera's /metrics; nothing is kept between scrapes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace castera::prometheus {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class Exposition {
public:
    // Starts a family: `type` is counter, gauge or histogram.
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, Labels labels, double value);
    void sample(std::string_view name, Labels labels, std::uint64_t value);
    void sample(std::string_view name, Labels labels, std::int64_t value);

    std::string take() { return std::move(text_); }

private:
    void begin(std::string_view name, Labels labels);

    std::string text_;
};

}  // namespace castera::prometheus
