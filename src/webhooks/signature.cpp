#include "webhooks/signature.hpp"

#include <openssl/rand.h>

#include <stdexcept>

#include "util/encoding.hpp"
#include "util/random.hpp"

namespace castera::webhooks {

std::optional<std::string> parse_secret(std::string_view secret) {
    constexpr std::string_view prefix = "whsec_";
    if (!secret.starts_with(prefix)) return std::nullopt;
    auto key = base64_decode(secret.substr(prefix.size()));
    if (!key || key->size() < 24 || key->size() > 64) return std::nullopt;
    return key;
}

std::string new_secret() {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
    return "whsec_" + base64_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string sign(std::string_view key, std::string_view id, std::int64_t timestamp, std::string_view body) {
    std::string content;
    content.reserve(id.size() + body.size() + 24);
    content.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
    return "v1," + base64_encode(hmac_sha256(key, content));
}

std::string new_event_id() { return "msg_" + random_token(24); }

}  // namespace castera::webhooks
