// The webhook sender's HTTP client: POSTs on Asio/Beast on the caller's event loop (no thread
// per request), TLS for https:// (OpenSSL, the system's trust store or SSL_CERT_FILE's, the
// host name or address checked, a refusal saying why), connections kept alive and reused per
// endpoint. One attempt is bounded as a whole by the timeout (resolve, connect, handshake,
// write, read); the answer's header and body are capped, so a hostile receiver costs one
// timeout, never memory. Redirects are answers like others.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "webhooks/endpoint.hpp"

namespace castera::webhooks {

struct Answer {
    std::optional<unsigned> status;  // none: no answer (refused, timed out, broken)
    std::string error;               // what went wrong, for the deliveries' listing
    bool complete = false;           // the whole answer was read
    // 2xx, read to its end (a 200 whose body never ends is not an acknowledgement).
    bool delivered() const { return complete && status && *status >= 200 && *status < 300; }
};

class HttpClient {
public:
    HttpClient(boost::asio::any_io_executor loop, std::chrono::milliseconds timeout);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    using Headers = std::vector<std::pair<std::string, std::string>>;
    boost::asio::awaitable<Answer> post(const Endpoint& endpoint, const Headers& headers, const std::string& body);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace castera::webhooks
