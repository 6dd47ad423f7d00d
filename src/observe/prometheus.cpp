#include "observe/prometheus.hpp"

#include <charconv>
#include <cmath>

namespace castera::prometheus {
namespace {

// Label values escape a backslash, a double quote and a line feed; HELP text the first and last.
void append_escaped(std::string& out, std::string_view value, bool quotes) {
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '"' && quotes) out += "\\\"";
        else out += c;
    }
}

}  // namespace

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
    text_.append("# HELP ").append(name).append(" ");
    append_escaped(text_, help, false);
    text_.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void Exposition::begin(std::string_view name, Labels labels) {
    text_.append(name);
    if (labels.size() == 0) return;
    text_ += '{';
    bool first = true;
    for (const auto& [label, value] : labels) {
        if (!first) text_ += ',';
        first = false;
        text_.append(label).append("=\"");
        append_escaped(text_, value, true);
        text_ += '"';
    }
    text_ += '}';
}

void Exposition::sample(std::string_view name, Labels labels, double value) {
    begin(name, labels);
    text_ += ' ';
    if (std::isinf(value)) {
        text_ += value > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
        text_.append(buf, ec == std::errc() ? end : buf);
    }
    text_ += '\n';
}

void Exposition::sample(std::string_view name, Labels labels, std::uint64_t value) {
    begin(name, labels);
    text_.append(" ").append(std::to_string(value)).append("\n");
}

void Exposition::sample(std::string_view name, Labels labels, std::int64_t value) {
    begin(name, labels);
    text_.append(" ").append(std::to_string(value)).append("\n");
}

}  // namespace castera::prometheus
