#include "util/json_writer.hpp"

#include <array>
#include <charconv>

namespace castera {

namespace {

// Bytes that cannot stand for themselves in a JSON string (controls, '"', '\\'), and the first
// byte of U+2028/U+2029 (0xe2), which is checked further.
constexpr std::array<bool, 256> kNeedsAttention = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 0x20; ++c) table[c] = true;
    table['"'] = table['\\'] = true;
    table[0xe2] = true;
    return table;
}();

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
        } else if (i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(s[i + 2]) == 0xa8 ||
                    static_cast<unsigned char>(s[i + 2]) == 0xa9)) {
            // DRF escapes the JavaScript line separators so that JSON is safe inside <script>.
            out.append(s.data() + run_start, i - run_start);
            out += static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
            i += 2;
            run_start = i + 1;
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
