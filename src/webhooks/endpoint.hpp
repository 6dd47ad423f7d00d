// A webhook endpoint's URL, taken apart for the HTTP client, and the rule of which URLs may be
// endpoints: https://, or http:// to a loopback address (or anywhere when allowed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace castera::webhooks {

struct Endpoint {
    std::string url;     // as configured
    bool tls = false;    // https
    std::string host;    // without brackets for IPv6
    std::uint16_t port = 0;
    std::string target;  // path and query, "/" when none
    std::string host_header;  // host[:port] as the Host header says it
};

// Nothing when `url` is not http(s)://host[:port][/path][?query] (no user info, no fragment).
std::optional<Endpoint> parse_endpoint(std::string_view url);

// localhost, 127.0.0.0/8 or ::1.
bool is_loopback_host(std::string_view host);

}  // namespace castera::webhooks
