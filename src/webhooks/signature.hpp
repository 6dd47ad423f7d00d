// Standard Webhooks signatures (https://www.standardwebhooks.com): a secret "whsec_<base64
// key>", and "v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'>" in webhook-signature.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace castera::webhooks {

// The key of a "whsec_..." secret (24 to 64 bytes); nothing when malformed.
std::optional<std::string> parse_secret(std::string_view secret);
// A new random secret, "whsec_" and 32 random bytes in base64.
std::string new_secret();
// The webhook-signature header's value.
std::string sign(std::string_view key, std::string_view id, std::int64_t timestamp, std::string_view body);
// A new webhook-id: "msg_" and 24 random letters and digits.
std::string new_event_id();

}  // namespace castera::webhooks
