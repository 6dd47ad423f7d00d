#include "util/random.hpp"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace castera {
namespace {

void fill_random(unsigned char* out, std::size_t n) {
    if (RAND_bytes(out, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::string random_uuid4() {
    std::array<unsigned char, 16> b;
    fill_random(b.data(), b.size());
    b[6] = (b[6] & 0x0f) | 0x40;  // version 4
    b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(kHex[b[i] >> 4]);
        out.push_back(kHex[b[i] & 0xf]);
    }
    return out;
}

std::string random_token(std::size_t length) {
    static constexpr char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string out;
    out.reserve(length);
    unsigned char buf[64];
    while (out.size() < length) {
        fill_random(buf, sizeof buf);
        for (unsigned char c : buf) {
            if (c >= 248) continue;  // 248 = 62 * 4: rejection keeps the draw uniform
            out.push_back(alphabet[c % 62]);
            if (out.size() == length) break;
        }
    }
    return out;
}

bool parse_uuid(std::string_view text, std::string& canonical) {
    std::string hex;
    hex.reserve(32);
    if (text.size() == 36) {
        for (std::size_t i = 0; i < 36; ++i) {
            bool dash_here = (i == 8 || i == 13 || i == 18 || i == 23);
            if (dash_here != (text[i] == '-')) return false;
            if (!dash_here) hex.push_back(text[i]);
        }
    } else if (text.size() == 32) {
        hex.assign(text);
    } else {
        return false;
    }
    canonical.clear();
    canonical.reserve(36);
    for (std::size_t i = 0; i < 32; ++i) {
        char c = hex[i];
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        if (i == 8 || i == 12 || i == 16 || i == 20) canonical.push_back('-');
        canonical.push_back(c);
    }
    return true;
}

}  // namespace castera
