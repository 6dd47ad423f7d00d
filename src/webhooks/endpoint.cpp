#include "webhooks/endpoint.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>

namespace castera::webhooks {
namespace {

bool valid_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

bool printable(std::string_view s) {
    for (unsigned char c : s)
        if (c <= 0x20 || c >= 0x7f) return false;
    return true;
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view url) {
    Endpoint e;
    e.url = std::string(url);
    std::string_view rest;
    if (url.starts_with("https://")) e.tls = true, rest = url.substr(8);
    else if (url.starts_with("http://")) rest = url.substr(7);
    else return std::nullopt;
    if (!printable(rest) || rest.find('#') != std::string_view::npos) return std::nullopt;
    std::size_t end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, end);
    std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    e.target = target.starts_with('/') ? std::string() : std::string("/");
    e.target.append(target);
    if (authority.find('@') != std::string_view::npos || authority.empty()) return std::nullopt;
    std::string_view port;
    if (authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        e.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') return std::nullopt;
        if (!after.empty()) port = after.substr(1);
        for (char c : e.host)
            if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return std::nullopt;
    } else {
        std::size_t colon = authority.find(':');
        e.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
        for (char c : e.host)
            if (!valid_host_char(c)) return std::nullopt;
    }
    if (e.host.empty()) return std::nullopt;
    e.port = e.tls ? 443 : 80;
    if (!port.empty()) {
        unsigned value = 0;
        auto [at, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || at != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
        e.port = static_cast<std::uint16_t>(value);
    }
    e.host_header = std::string(authority);
    return e;
}

// A numeric address only: "127.0.0.1.example.com" is a name that may point anywhere.
bool is_loopback_host(std::string_view host) {
    if (host == "localhost" || host == "::1") return true;
    in_addr v4{};
    std::string text(host);
    return inet_pton(AF_INET, text.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

}  // namespace castera::webhooks
