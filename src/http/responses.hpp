// JSON responses in DRF's shapes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace castera::http {

// {"detail": "..."} with the status: DRF's shape for errors and for plain answers alike.
Response detail_response(unsigned status, std::string_view detail);
inline Response error_response(unsigned status, std::string_view detail) { return detail_response(status, detail); }
// {"<field>": ["<message>"]} with 400.
Response validation_error_response(std::string_view field, std::string_view message);
// A body that is already JSON.
Response json_response(unsigned status, std::string body);

// 429 with DRF's throttling text and a Retry-After header.
Response throttled_response(long seconds);

// RFC 6455 section 4.2.1, checked before Beast's handshake so that a bad one is refused in
// castera's JSON (Beast's refusals are plain text), and a key that is not a 16-byte nonce in
// base64 is refused at all: 400 for a missing or bad Sec-WebSocket-Key or a missing
// Sec-WebSocket-Version, 426 with `Sec-WebSocket-Version: 13` for any other version.
std::optional<Response> websocket_handshake_refusal(const Request& req);

// DRF's standard texts.
inline constexpr std::string_view kNotFound = "Not found.";
inline constexpr std::string_view kNoCredentials = "Authentication credentials were not provided.";
inline constexpr std::string_view kNoPermission = "You do not have permission to perform this action.";

}  // namespace castera::http
