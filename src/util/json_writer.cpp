#include "util/json_writer.hpp"

#include <array>
#include <charconv>

namespace castera {

namespace {

// Bytes that cannot stand for themselves in a JSON string (controls, '"', '\\'), and every
// byte of a multi-byte sequence, which is checked further (it must be UTF-8, and U+2028/U+2029
// are escaped).
constexpr std::array<bool, 256> kNeedsAttention = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 0x20; ++c) table[c] = true;
    table['"'] = table['\\'] = true;
    for (int c = 0x80; c < 0x100; ++c) table[c] = true;
    return table;
}();

// A byte that continues a multi-byte sequence (10xxxxxx).
bool is_continuation(unsigned char c) { return (c & 0xc0) == 0x80; }

// The length of the well-formed UTF-8 sequence at s[i] (a byte >= 0x80), or 0 when there is
// none: a stray continuation byte, a truncated sequence, an overlong form, a surrogate or a
// code point beyond U+10FFFF.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = at(0);
    std::size_t length = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (length == 0 || i + length > s.size()) return 0;
    for (std::size_t k = 1; k < length; ++k)
        if (!is_continuation(at(k))) return 0;
    if (c == 0xe0 && at(1) < 0xa0) return 0;   // overlong
    if (c == 0xed && at(1) >= 0xa0) return 0;  // surrogates
    if (c == 0xf0 && at(1) < 0x90) return 0;   // overlong
    if (c == 0xf4 && at(1) >= 0x90) return 0;  // beyond U+10FFFF
    return length;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run_start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (!kNeedsAttention[c]) continue;
        const char* escape = nullptr;
        char unicode[7];
        if (c == '"') escape = "\\\"";
        else if (c == '\\') escape = "\\\\";
        else if (c == '\n') escape = "\\n";
        else if (c == '\r') escape = "\\r";
        else if (c == '\t') escape = "\\t";
        else if (c == '\b') escape = "\\b";
        else if (c == '\f') escape = "\\f";
        else if (c < 0x20) {
            // Other control characters as \u00XX, as Python's json module writes them.
            unicode[0] = '\\'; unicode[1] = 'u'; unicode[2] = '0'; unicode[3] = '0';
            unicode[4] = hex[c >> 4]; unicode[5] = hex[c & 0xf]; unicode[6] = 0;
            escape = unicode;
        } else if (std::size_t length = utf8_sequence_length(s, i); length == 0) {
            // Not UTF-8 (a header echoed in an error, say): U+FFFD for the byte, so that the
            // document stays JSON whatever it was handed.
            escape = "\xef\xbf\xbd";
        } else if (c == 0xe2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(s[i + 2]) == 0xa8 ||
                    static_cast<unsigned char>(s[i + 2]) == 0xa9)) {
            // DRF escapes the JavaScript line separators so that JSON is safe inside <script>.
            out.append(s.data() + run_start, i - run_start);
            out += static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
            i += 2;
            run_start = i + 1;
            continue;
        } else {
            i += length - 1;  // a character that stands for itself
            continue;
        }
        if (escape == nullptr) continue;
        out.append(s.data() + run_start, i - run_start);
        out += escape;
        run_start = i + 1;
    }
    out.append(s.data() + run_start, s.size() - run_start);
    out.push_back('"');
}

void JsonWriter::write_string(std::string_view s) { append_json_string(out_, s); }

// std::to_chars into a stack buffer: no temporary string per number.
void JsonWriter::write_integer(std::int64_t n) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    out_.append(digits, static_cast<std::size_t>(end - digits));
}

}  // namespace castera
