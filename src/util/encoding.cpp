#include "util/encoding.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>

namespace castera {
namespace {

constexpr char kStandardAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlSafeAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

using ReverseTable = std::array<std::int8_t, 256>;

// Each character's 6-bit value, or -1, so that decoding is one lookup per character.
constexpr ReverseTable make_reverse_table(const char* alphabet) {
    ReverseTable table{};
    for (auto& entry : table) entry = -1;
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return table;
}

constexpr ReverseTable kStandardReverse = make_reverse_table(kStandardAlphabet);
constexpr ReverseTable kUrlSafeReverse = make_reverse_table(kUrlSafeAlphabet);

// One routine for both alphabets: three bytes become four characters, the tail is padded
// with '=' only when `pad` says so.
std::string encode_base64(std::string_view bytes, const char* alphabet, bool pad) {
    auto at = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])); };
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
        for (int shift = 18; shift >= 0; shift -= 6) out.push_back(alphabet[(v >> shift) & 63]);
    }
    std::size_t rest = bytes.size() - i;
    if (rest == 0) return out;
    std::uint32_t v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.append(rest == 1 ? "==" : "=");
    return out;
}

// Decodes text without padding; a length of 4n+1 cannot come from any byte string. Spare low
// bits of the last character are ignored, as Python's base64 module does.
std::optional<std::string> decode_unpadded(std::string_view text, const ReverseTable& table) {
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : text) {
        int v = table[c];
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
            acc &= (1u << bits) - 1;
        }
    }
    return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    return encode_base64(bytes, kStandardAlphabet, /*pad=*/true);
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    for (int i = 0; i < 2 && !text.empty() && text.back() == '='; ++i) text.remove_suffix(1);
    return decode_unpadded(text, kStandardReverse);
}

std::string base64url_encode(std::string_view bytes) {
    return encode_base64(bytes, kUrlSafeAlphabet, /*pad=*/false);
}

std::optional<std::string> base64url_decode(std::string_view text) {
    return decode_unpadded(text, kUrlSafeReverse);
}

std::string hex_encode(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0xf]);
    }
    return out;
}

namespace {

// SHA-256 fetched once: OpenSSL 3 otherwise looks the algorithm up (under a global lock) on
// every one-shot call, which the loops then contend on.
const EVP_MD* sha256_algorithm() {
    static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!algorithm) throw std::runtime_error("SHA-256 is not available");
    return algorithm;
}

// One digest context per thread, reused.
EVP_MD_CTX* digest_context() {
    thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!context) throw std::runtime_error("out of memory for a digest");
    return context.get();
}

// SHA-256 of the concatenated parts.
std::string sha256_of(std::initializer_list<std::string_view> parts) {
    EVP_MD_CTX* context = digest_context();
    if (EVP_DigestInit_ex2(context, sha256_algorithm(), nullptr) != 1)
        throw std::runtime_error("SHA-256 initialisation failed");
    for (std::string_view part : parts)
        if (EVP_DigestUpdate(context, part.data(), part.size()) != 1) throw std::runtime_error("SHA-256 failed");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context, digest, &length) != 1) throw std::runtime_error("SHA-256 failed");
    return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace

std::string sha256(std::string_view data) { return sha256_of({data}); }

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

// RFC 2104 over the reusable SHA-256 above: OpenSSL's one-shot HMAC() fetches its algorithms
// on every call.
std::string hmac_sha256(std::string_view key, std::string_view data) {
    constexpr std::size_t kBlock = 64;
    std::string short_key = key.size() > kBlock ? sha256(key) : std::string(key);
    std::string inner_pad(kBlock, '\x36');
    std::string outer_pad(kBlock, '\x5c');
    for (std::size_t i = 0; i < short_key.size(); ++i) {
        inner_pad[i] = static_cast<char>(inner_pad[i] ^ short_key[i]);
        outer_pad[i] = static_cast<char>(outer_pad[i] ^ short_key[i]);
    }
    return sha256_of({outer_pad, sha256_of({inner_pad, data})});
}

bool constant_time_equals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace castera
