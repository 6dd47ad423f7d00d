#include "auth/password.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <limits>
#include <stdexcept>

#include "util/encoding.hpp"
#include "util/random.hpp"

namespace castera {
namespace {

constexpr std::string_view kAlgorithm = "pbkdf2_sha256";
// Django: ceil(128 bits of entropy / log2(62)) characters.
constexpr std::size_t kSaltLength = 22;
constexpr std::size_t kUnusableSuffixLength = 40;
constexpr int kDigestLength = 32;
// A hostile or corrupt row must not pin a CPU for minutes.
constexpr long kMaxIterations = 10'000'000;

// The four '$'-separated fields of a stored hash (Django splits with maxsplit=3).
struct HashFields {
    std::string_view algorithm, iterations, salt, digest;
};

// PBKDF2-HMAC-SHA256 as Django's hashers.pbkdf2() calls it (password and salt as UTF-8 bytes).
std::string pbkdf2_sha256(std::string_view raw, std::string_view salt, int iterations) {
    if (raw.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
        salt.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw std::length_error("password or salt too long");
    unsigned char digest[kDigestLength];
    if (PKCS5_PBKDF2_HMAC(raw.data(), static_cast<int>(raw.size()),
                          reinterpret_cast<const unsigned char*>(salt.data()),
                          static_cast<int>(salt.size()), iterations, EVP_sha256(), kDigestLength,
                          digest) != 1)
        throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
    return std::string(reinterpret_cast<const char*>(digest), kDigestLength);
}

// PBKDF2PasswordHasher.encode: the full stored form for a given salt and iteration count.
std::string encode(std::string_view raw, std::string_view salt, int iterations) {
    std::string out(kAlgorithm);
    out += '$';
    out += std::to_string(iterations);
    out += '$';
    out += salt;
    out += '$';
    out += base64_encode(pbkdf2_sha256(raw, salt, iterations));
    return out;
}

// Splits at the first three '$'; the digest keeps any further '$' as Django's split does.
bool split_fields(std::string_view encoded, HashFields& out) {
    std::string_view* fields[] = {&out.algorithm, &out.iterations, &out.salt};
    for (std::string_view* field : fields) {
        std::size_t dollar = encoded.find('$');
        if (dollar == std::string_view::npos) return false;
        *field = encoded.substr(0, dollar);
        encoded.remove_prefix(dollar + 1);
    }
    out.digest = encoded;
    return true;
}

// Plain decimal digits in 1..kMaxIterations; anything else makes the hash unusable to us.
bool parse_iterations(std::string_view text, int& out) {
    long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return false;
    if (value < 1 || value > kMaxIterations) return false;
    out = static_cast<int>(value);
    return true;
}

}  // namespace

std::string make_password(std::string_view raw, int iterations) {
    if (iterations < 1) throw std::invalid_argument("password iterations must be at least 1");
    return encode(raw, random_token(kSaltLength), iterations);
}

bool check_password(std::string_view raw, std::string_view encoded) {
    if (encoded.empty() || !is_usable_password(encoded)) return false;
    HashFields fields;
    int iterations = 0;
    if (!split_fields(encoded, fields) || fields.algorithm != kAlgorithm ||
        !parse_iterations(fields.iterations, iterations) || fields.salt.empty())
        return false;
    try {
        // As Django's verify(): re-encode and compare whole strings, so that any variant
        // spelling of the same hash (leading zeros, other padding) is refused alike.
        return constant_time_equals(encode(raw, fields.salt, iterations), encoded);
    } catch (const std::exception&) {
        return false;
    }
}

std::string make_unusable_password() { return std::string("!").append(random_token(kUnusableSuffixLength)); }

bool is_usable_password(std::string_view encoded) {
    return encoded.empty() || encoded.front() != '!';
}

}  // namespace castera
