// Django's CSRF tokens (4.x): the csrftoken cookie holds a 32-character secret; a form field
// or X-CSRFToken header carries the secret itself or a 64-character masked copy of it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace castera {

inline constexpr std::size_t kCsrfSecretLength = 32;
inline constexpr std::size_t kCsrfTokenLength = 2 * kCsrfSecretLength;

// A fresh secret for the csrftoken cookie: 32 characters from [a-zA-Z0-9].
std::string new_csrf_secret();

// Django's _mask_cipher_secret: a random 32-character mask followed by the secret shifted by
// it, so that the token sent in a page differs on every response (BREACH). Throws
// std::invalid_argument unless `secret` is a valid 32-character secret.
std::string mask_csrf_secret(std::string_view secret);

// The secret inside a cookie value or request token: a valid 32-character value as it is, a
// valid 64-character value unmasked (as Django's _unmask_cipher_token), anything else nothing.
std::optional<std::string> unmask_csrf_token(std::string_view token);

// Whether a request's token (masked or not) carries the cookie's secret (masked or not),
// compared in constant time. False when either is malformed.
bool csrf_tokens_match(std::string_view request_token, std::string_view cookie_secret);

}  // namespace castera
