#include "auth/origin_policy.hpp"

#include "auth/csrf.hpp"
#include "auth/sessions.hpp"
#include "http/responses.hpp"

namespace castera {

using http::error_response;

bool OriginPolicy::trusts(std::string_view origin, std::string_view host) const {
    if (!host.empty()) {
        for (std::string_view scheme : {"http://", "https://"})
            if (origin.size() == scheme.size() + host.size() && origin.starts_with(scheme) && origin.ends_with(host))
                return true;
    }
    for (const auto& allowed : allowed_)
        if (origin == allowed) return true;
    return false;
}

bool OriginPolicy::request_trusted(const http::Request& req) const {
    std::string_view origin = req.header("Origin");
    return origin.empty() || trusts(origin, req.header("Host"));
}

std::string_view OriginPolicy::cors_origin(const http::Request& req) const {
    std::string_view origin = req.header("Origin");
    if (origin.empty()) return {};
    for (const auto& allowed : allowed_)
        if (origin == allowed) return origin;
    return {};
}

std::optional<http::Response> OriginPolicy::check_login_origin(const http::Request& req) const {
    if (request_trusted(req)) return std::nullopt;
    return error_response(403, "CSRF Failed: Origin checking failed - " + std::string(req.header("Origin")) +
                                   " does not match any trusted origins.");
}

bool OriginPolicy::is_secure(const http::Request& req) const {
    return trust_forwarded_proto_ && req.header("X-Forwarded-Proto") == "https";
}

// Django's referer check for HTTPS requests without an Origin header: a man in the middle of
// plain HTTP can plant a cookie, so the request must come from one of our own pages.
std::optional<http::Response> OriginPolicy::check_referer(const http::Request& req) const {
    std::string_view referer = req.header("Referer");
    if (referer.empty()) return error_response(403, "CSRF Failed: Referer checking failed - no Referer.");
    if (!referer.starts_with("https://")) {
        if (!referer.starts_with("http://"))
            return error_response(403, "CSRF Failed: Referer checking failed - Referer is malformed.");
        return error_response(403, "CSRF Failed: Referer checking failed - Referer is insecure while host is secure.");
    }
    std::string_view rest = referer.substr(8);
    std::string origin = "https://" + std::string(rest.substr(0, rest.find_first_of("/?#")));
    // Only https origins count here: an http page of the same host is not one of ours.
    bool trusted = origin == "https://" + std::string(req.header("Host"));
    for (const auto& allowed : allowed_) trusted = trusted || origin == allowed;
    if (trusted) return std::nullopt;
    return error_response(403, "CSRF Failed: Referer checking failed - " + std::string(referer) +
                                   " does not match any trusted origins.");
}

std::optional<http::Response> OriginPolicy::check_csrf(const http::Request& req, std::string_view form_token) const {
    if (auto refused = check_login_origin(req)) return refused;
    if (req.header("Origin").empty() && is_secure(req))
        if (auto refused = check_referer(req)) return refused;
    std::string_view cookie = req.cookie(kCsrfCookie);
    auto secret = unmask_csrf_token(cookie);
    if (cookie.empty() || !secret) return error_response(403, "CSRF Failed: CSRF cookie not set.");
    std::string_view token = req.header("X-CSRFToken");
    if (token.empty()) token = form_token;
    if (token.empty()) return error_response(403, "CSRF Failed: CSRF token missing.");
    if (!csrf_tokens_match(token, *secret)) return error_response(403, "CSRF Failed: CSRF token incorrect.");
    return std::nullopt;
}

}  // namespace castera
