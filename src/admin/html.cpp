#include "admin/html.hpp"

namespace castera::admin {

void escape_into(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#x27;"; break;
            default: out += c;
        }
    }
}

Html& Html::open_tag(std::string_view tag, const Attr* first, const Attr* last) {
    out_.append("<").append(tag);
    for (const Attr* a = first; a != last; ++a) {
        out_.append(" ").append(a->name).append("=\"");
        escape_into(out_, a->value);
        out_ += '"';
    }
    out_ += '>';
    return *this;
}

std::string url_encode(std::string_view value, bool keep_slash) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(value.size());
    for (unsigned char c : value) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
        if (plain) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

}  // namespace castera::admin
