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

// Read on every meeting row (SQLite keeps the 32-digit form): no temporary string.
bool parse_uuid(std::string_view text, std::string& canonical) {
    bool dashed = text.size() == 36;
    if (!dashed && text.size() != 32) return false;
    if (dashed && (text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')) return false;
    canonical.resize(36);
    std::size_t from = 0;
    for (std::size_t to = 0; to < 36; ++to) {
        if (to == 8 || to == 13 || to == 18 || to == 23) {
            canonical[to] = '-';
            if (dashed) ++from;
            continue;
        }
        char c = text[from++];
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        canonical[to] = c;
    }
    return true;
}

}  // namespace castera
