#include "http/message.hpp"

namespace castera::http {

std::string_view Request::cookie(std::string_view name) const {
    std::string_view header_value = header("Cookie");
    while (!header_value.empty()) {
        std::size_t end = header_value.find(';');
        std::string_view pair = header_value.substr(0, end);
        header_value = end == std::string_view::npos ? std::string_view{} : header_value.substr(end + 1);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        std::size_t eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        std::string_view key = pair.substr(0, eq);
        while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
        if (key != name) continue;
        std::string_view value = pair.substr(eq + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        return value;
    }
    return {};
}

bool Request::is_unsafe() const {
    return method == Method::post || method == Method::put || method == Method::patch ||
           method == Method::del;
}

Method parse_method(std::string_view name) {
    if (name == "GET") return Method::get;
    if (name == "POST") return Method::post;
    if (name == "PUT") return Method::put;
    if (name == "PATCH") return Method::patch;
    if (name == "DELETE") return Method::del;
    if (name == "HEAD") return Method::head;
    if (name == "OPTIONS") return Method::options;
    return Method::other;
}

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Python's unquote_plus: '+' is a space, "%XX" a byte, a malformed escape stays as written.
std::string decode_form_component(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%' && i + 2 < text.size() &&
                   hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

bool parse_urlencoded(std::string_view text, std::vector<std::pair<std::string, std::string>>& out) {
    // As Django's QueryDict (parse_qsl with keep_blank_values): pairs split on '&', a pair
    // without '=' has an empty value, empty pairs are skipped.
    while (!text.empty()) {
        std::size_t end = text.find('&');
        std::string_view pair = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (pair.empty()) continue;
        std::size_t eq = pair.find('=');
        std::string_view key = pair.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        out.emplace_back(decode_form_component(key), decode_form_component(value));
    }
    return true;
}

bool query_param(std::string_view query, std::string_view name, std::string& value) {
    if (query.find(name) == std::string_view::npos) return false;  // the common, cheap case
    std::vector<std::pair<std::string, std::string>> pairs;
    if (!parse_urlencoded(query, pairs)) return false;
    bool found = false;
    for (auto& [key, v] : pairs) {
        if (key == name) {
            value = std::move(v);
            found = true;
        }
    }
    return found;
}

}  // namespace castera::http
