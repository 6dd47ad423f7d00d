// Fetching a JWKS document over HTTP(S). Blocking, with a deadline: it runs on the worker
// pool, never on an event loop.
#pragma once

#include <chrono>
#include <string>

namespace castera {

// The body of a 200 answer to GET `url` (http:// or https://, certificate and host name
// verified). Throws std::runtime_error saying what failed.
std::string fetch_url(const std::string& url, std::chrono::seconds timeout = std::chrono::seconds(10));

}  // namespace castera
