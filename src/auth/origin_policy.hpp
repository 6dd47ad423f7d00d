// Which web origins castera trusts, decided in one place: its own (the request's Host, over
// http or https) and the configured CASTERA_ALLOWED_ORIGINS. It answers the three questions
// that depend on it: may this cookie-carrying request be honoured (CSRF, a login form, a
// WebSocket opened by a page), which origin gets CORS headers, and is a TLS request's Referer
// one of ours.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace castera {

class OriginPolicy {
public:
    OriginPolicy(std::vector<std::string> allowed, bool trust_forwarded_proto)
        : allowed_(std::move(allowed)), trust_forwarded_proto_(trust_forwarded_proto) {}

    // The one rule: `origin` ("scheme://host[:port]") is this server (`host` is the request's
    // Host header) or an allowed origin.
    bool trusts(std::string_view origin, std::string_view host) const;

    // True when the request has no Origin (not a browser) or a trusted one.
    bool request_trusted(const http::Request& req) const;

    // The request's Origin when it is an allowed other site, else empty. Only those get CORS
    // headers (with credentials); a page of any other site cannot read castera's answers.
    std::string_view cors_origin(const http::Request& req) const;

    // Refuses a login posted from a page of another site (it would sign the visitor in as the
    // attacker): the 403 to send, or nothing.
    std::optional<http::Response> check_login_origin(const http::Request& req) const;

    // Django's CSRF check for an unsafe request authenticated by session. `form_token` is the
    // csrfmiddlewaretoken field of a form post, if any. The 403 to send, or nothing.
    std::optional<http::Response> check_csrf(const http::Request& req, std::string_view form_token = {}) const;

private:
    bool is_secure(const http::Request& req) const;
    std::optional<http::Response> check_referer(const http::Request& req) const;

    std::vector<std::string> allowed_;
    bool trust_forwarded_proto_;
};

}  // namespace castera
