// Byte encodings and the small hashing primitives built on OpenSSL: base64 (standard and
// URL-safe), hex, SHA-256, HMAC-SHA256 and a comparison that does not leak where inputs differ.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace castera {

// Standard base64 (RFC 4648 section 4) with '=' padding.
std::string base64_encode(std::string_view bytes);
// Strict inverse of base64_encode: length a multiple of 4, padding only at the end, no
// whitespace or foreign characters. Returns nothing on bad input.
std::optional<std::string> base64_decode(std::string_view text);

// URL-safe base64 (RFC 4648 section 5, '-' and '_') without padding, as JWTs use it.
std::string base64url_encode(std::string_view bytes);
// Inverse of base64url_encode; refuses '=' padding, foreign characters and impossible lengths.
std::optional<std::string> base64url_decode(std::string_view text);

// Lower-case hexadecimal, two digits per byte.
std::string hex_encode(std::string_view bytes);

// SHA-256 of `data`: raw 32 bytes, and as 64 lower-case hex digits.
std::string sha256(std::string_view data);
std::string sha256_hex(std::string_view data);

// HMAC-SHA256 of `data` under `key`: raw 32 bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

// Equality whose time depends only on the lengths, never on where the contents differ.
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace castera
