#include "http/responses.hpp"

#include "util/encoding.hpp"
#include "util/json_writer.hpp"

namespace castera::http {

Response detail_response(unsigned status, std::string_view detail) {
    Response res;
    res.status = status;
    res.body.reserve(detail.size() + 16);
    JsonWriter w(res.body);
    w.begin_object();
    w.field("detail", detail);
    w.end_object();
    return res;
}

Response validation_error_response(std::string_view field, std::string_view message) {
    Response res;
    res.status = 400;
    JsonWriter w(res.body);
    w.begin_object();
    w.key(field);
    w.begin_array();
    w.value(message);
    w.end_array();
    w.end_object();
    return res;
}

Response json_response(unsigned status, std::string body) {
    Response res;
    res.status = status;
    res.body = std::move(body);
    return res;
}

Response throttled_response(long seconds) {
    Response res = error_response(429, "Request was throttled. Expected available in " + std::to_string(seconds) +
                                           (seconds == 1 ? " second." : " seconds."));
    res.add_header("Retry-After", std::to_string(seconds));
    return res;
}

namespace {

std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<Response> websocket_handshake_refusal(const Request& req) {
    std::string_view key = trim_blanks(req.header("Sec-WebSocket-Key"));
    if (key.empty()) return error_response(400, "Missing Sec-WebSocket-Key.");
    auto nonce = base64_decode(key);
    if (!nonce || nonce->size() != 16) return error_response(400, "Bad Sec-WebSocket-Key: it must be 16 bytes in base64.");
    std::string_view version = trim_blanks(req.header("Sec-WebSocket-Version"));
    if (version.empty()) return error_response(400, "Missing Sec-WebSocket-Version.");
    if (version != "13") {
        Response res = error_response(426, "Unsupported Sec-WebSocket-Version: this server speaks 13.");
        res.add_header("Sec-WebSocket-Version", "13");
        return res;
    }
    return std::nullopt;
}

}  // namespace castera::http
