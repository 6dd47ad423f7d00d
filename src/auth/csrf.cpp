#include "auth/csrf.hpp"

#include <array>
#include <stdexcept>

#include "util/encoding.hpp"
#include "util/random.hpp"

namespace castera {
namespace {

// Django's CSRF_ALLOWED_CHARS: string.ascii_letters + string.digits, in that order; the
// order matters because masking adds positions in it.
constexpr std::string_view kChars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr int kCharCount = static_cast<int>(kChars.size());

// Position of each byte in kChars, or -1: one table lookup instead of a search per character.
constexpr std::array<int, 256> make_index_table() {
    std::array<int, 256> table{};
    for (auto& entry : table) entry = -1;
    for (int i = 0; i < kCharCount; ++i) table[static_cast<unsigned char>(kChars[i])] = i;
    return table;
}

constexpr std::array<int, 256> kIndex = make_index_table();

int char_index(char c) { return kIndex[static_cast<unsigned char>(c)]; }

// Django's _check_token_format minus the length: every character from kChars.
bool has_only_token_chars(std::string_view text) {
    for (char c : text)
        if (char_index(c) < 0) return false;
    return true;
}

// cipher[i] = chars[(secret[i] + mask[i]) mod 62], positions taken in kChars.
std::string apply_mask(std::string_view secret, std::string_view mask) {
    std::string cipher(secret.size(), '\0');
    for (std::size_t i = 0; i < secret.size(); ++i)
        cipher[i] = kChars[(char_index(secret[i]) + char_index(mask[i])) % kCharCount];
    return cipher;
}

// secret[i] = chars[(cipher[i] - mask[i]) mod 62]; Python's negative index wraps the same way.
std::string remove_mask(std::string_view cipher, std::string_view mask) {
    std::string secret(cipher.size(), '\0');
    for (std::size_t i = 0; i < cipher.size(); ++i)
        secret[i] = kChars[(char_index(cipher[i]) - char_index(mask[i]) + kCharCount) % kCharCount];
    return secret;
}

}  // namespace

std::string new_csrf_secret() { return random_token(kCsrfSecretLength); }

std::string mask_csrf_secret(std::string_view secret) {
    if (secret.size() != kCsrfSecretLength || !has_only_token_chars(secret))
        throw std::invalid_argument("not a CSRF secret");
    std::string mask = random_token(kCsrfSecretLength);
    return mask + apply_mask(secret, mask);
}

std::optional<std::string> unmask_csrf_token(std::string_view token) {
    if (!has_only_token_chars(token)) return std::nullopt;
    if (token.size() == kCsrfSecretLength) return std::string(token);
    if (token.size() != kCsrfTokenLength) return std::nullopt;
    return remove_mask(token.substr(kCsrfSecretLength), token.substr(0, kCsrfSecretLength));
}

bool csrf_tokens_match(std::string_view request_token, std::string_view cookie_secret) {
    auto request_secret = unmask_csrf_token(request_token);
    auto secret = unmask_csrf_token(cookie_secret);
    if (!request_secret || !secret) return false;
    return constant_time_equals(*request_secret, *secret);
}

}  // namespace castera
