#include "http/request_id.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "util/random.hpp"

namespace castera::http {
namespace {

constexpr std::size_t kMaxLength = 128;

bool allowed(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

const std::string& process_prefix() {
    static const std::string prefix = random_token(12);
    return prefix;
}

// Each thread counts in a range of its own: no shared counter on the request path.
std::uint64_t next_sequence() {
    static std::atomic<std::uint64_t> threads{0};
    thread_local std::uint64_t sequence = threads.fetch_add(1, std::memory_order_relaxed) << 40;
    return ++sequence;
}

void append_hex(std::string& out, std::uint64_t n) {
    char digits[16];
    int count = 0;
    do {
        digits[count++] = "0123456789abcdef"[n & 0xf];
        n >>= 4;
    } while (n);
    while (count) out += digits[--count];
}

}  // namespace

bool well_formed_request_id(std::string_view id) {
    return !id.empty() && id.size() <= kMaxLength && std::all_of(id.begin(), id.end(), allowed);
}

std::string request_id_for(std::string_view sent) {
    if (well_formed_request_id(sent)) return std::string(sent);
    std::string id;
    id.reserve(32);
    id += process_prefix();
    id += '-';
    append_hex(id, next_sequence());
    return id;
}

}  // namespace castera::http
