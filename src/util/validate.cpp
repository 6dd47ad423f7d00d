#include "util/validate.hpp"

#include <arpa/inet.h>

#include <string>

namespace castera {
namespace {

bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool is_non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Python's str.isspace() over ASCII plus the C1/Unicode spaces Django's \s would match and that
// can appear in UTF-8 (NBSP U+00A0 is encoded C2 A0; the rest we refuse as controls below).
bool has_space_or_control(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c <= 0x20 || c == 0x7f) return true;
        if (c == 0xc2 && i + 1 < text.size()) {
            unsigned char d = static_cast<unsigned char>(text[i + 1]);
            if (d <= 0xa0) return true;  // U+0080..U+00A0: C1 controls and NBSP
        }
    }
    return false;
}

// One DNS label of Django's host_re: letters, digits, '-' and non-ASCII, 1 to 63 characters,
// not starting or ending with '-'.
bool is_host_label(std::string_view label) {
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    if (utf8_length(label) > 63) return false;
    for (char c : label)
        if (!is_ascii_alpha(c) && !is_ascii_digit(c) && c != '-' && !is_non_ascii(c)) return false;
    return true;
}

// Django's tld_re: 2..63 letters, '-' or non-ASCII (no digits), or an "xn--" punycode label.
bool is_top_level_domain(std::string_view label) {
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    if (label.size() > 4 && iequals(label.substr(0, 4), "xn--")) {
        std::string_view rest = label.substr(4);
        if (rest.size() > 59) return false;
        for (char c : rest)
            if (!is_ascii_alpha(c) && !is_ascii_digit(c)) return false;
        return true;
    }
    std::size_t length = utf8_length(label);
    if (length < 2 || length > 63) return false;
    for (char c : label)
        if (!is_ascii_alpha(c) && c != '-' && !is_non_ascii(c)) return false;
    return true;
}

// Django's ipv4_re: four decimal octets 0..255 without leading zeros.
bool is_ipv4(std::string_view host) {
    int parts = 0;
    std::size_t i = 0;
    while (true) {
        std::size_t start = i;
        while (i < host.size() && is_ascii_digit(host[i])) ++i;
        std::string_view octet = host.substr(start, i - start);
        if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0')) return false;
        if (std::stoi(std::string(octet)) > 255) return false;
        ++parts;
        if (i == host.size()) return parts == 4;
        if (host[i] != '.' || parts == 4) return false;
        ++i;
    }
}

bool is_domain_name(std::string_view host) {
    if (iequals(host, "localhost")) return true;
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // a fully qualified name
    if (host.size() > 253) return false;
    std::size_t last_dot = host.rfind('.');
    if (last_dot == std::string_view::npos) return false;  // a top-level domain is required
    if (!is_top_level_domain(host.substr(last_dot + 1))) return false;
    std::string_view rest = host.substr(0, last_dot);
    while (true) {
        std::size_t dot = rest.find('.');
        if (!is_host_label(rest.substr(0, dot))) return false;
        if (dot == std::string_view::npos) return true;
        rest.remove_prefix(dot + 1);
    }
}

bool is_url_host(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        std::string inner(host.substr(1, host.size() - 2));
        in6_addr address{};
        return inet_pton(AF_INET6, inner.c_str(), &address) == 1;
    }
    return is_ipv4(host) || is_domain_name(host);
}

// "user[:password]@" before the host: no ':' '@' or '/' in the user, none of '@' '/' after.
bool is_userinfo(std::string_view info) {
    std::size_t colon = info.find(':');
    std::string_view user = info.substr(0, colon);
    if (user.empty()) return false;
    if (colon != std::string_view::npos && info.substr(colon + 1).find(':') != std::string_view::npos)
        return false;
    return info.find('/') == std::string_view::npos;
}

// "host[:port]" with a port of one to five digits.
bool is_host_and_port(std::string_view authority) {
    std::size_t colon = authority.rfind(':');
    std::size_t bracket = authority.rfind(']');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
        std::string_view port = authority.substr(colon + 1);
        if (port.empty() || port.size() > 5) return false;
        for (char c : port)
            if (!is_ascii_digit(c)) return false;
        authority = authority.substr(0, colon);
    }
    return is_url_host(authority);
}

}  // namespace

bool is_well_formed_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t extra;
        char32_t code;
        if ((c & 0xe0) == 0xc0) extra = 1, code = c & 0x1f;
        else if ((c & 0xf0) == 0xe0) extra = 2, code = c & 0x0f;
        else if ((c & 0xf8) == 0xf0) extra = 3, code = c & 0x07;
        else return false;
        if (i + extra >= text.size()) return false;  // truncated sequence
        for (std::size_t k = 1; k <= extra; ++k) {
            unsigned char d = static_cast<unsigned char>(text[i + k]);
            if ((d & 0xc0) != 0x80) return false;
            code = (code << 6) | (d & 0x3f);
        }
        static constexpr char32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
        if (code < kMinimum[extra] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
        i += extra + 1;
    }
    return true;
}

bool is_valid_utf8(std::string_view text) {
    return text.find('\0') == std::string_view::npos && is_well_formed_utf8(text);
}

std::size_t utf8_length(std::string_view text) {
    std::size_t count = 0;
    for (char c : text)
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++count;
    return count;
}

bool is_valid_url(std::string_view url) {
    if (url.size() > 2048 || !is_valid_utf8(url) || has_space_or_control(url)) return false;
    std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return false;
    std::string_view scheme = url.substr(0, scheme_end);
    if (!iequals(scheme, "http") && !iequals(scheme, "https")) return false;
    std::string_view rest = url.substr(scheme_end + 3);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    std::size_t at = authority.find('@');
    if (at != std::string_view::npos) {
        if (!is_userinfo(authority.substr(0, at))) return false;
        authority.remove_prefix(at + 1);
        if (authority.find('@') != std::string_view::npos) return false;
    }
    return is_host_and_port(authority);
}

bool is_valid_email(std::string_view email) {
    if (email.size() > 320 || !is_valid_utf8(email) || has_space_or_control(email)) return false;
    std::size_t at = email.rfind('@');
    if (at == std::string_view::npos || at == 0) return false;
    std::string_view local = email.substr(0, at);
    std::string_view domain = email.substr(at + 1);
    // dot-atom: atoms of RFC 5322 atext separated by single dots.
    static constexpr std::string_view kAtext = "!#$%&'*+/=?^_`{|}~-";
    bool after_dot = true;
    for (char c : local) {
        if (c == '.') {
            if (after_dot) return false;
            after_dot = true;
            continue;
        }
        if (!is_ascii_alpha(c) && !is_ascii_digit(c) && kAtext.find(c) == std::string_view::npos) return false;
        after_dot = false;
    }
    if (after_dot) return false;
    return is_domain_name(domain) && domain.back() != '.';
}

}  // namespace castera
