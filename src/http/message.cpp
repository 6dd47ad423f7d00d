#include "http/message.hpp"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>

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

bool parse_urlencoded(std::string_view text, std::vector<std::pair<std::string, std::string>>& out) {
    auto params = boost::urls::parse_query(text);
    if (!params) return false;
    boost::urls::encoding_opts plus_is_space;
    plus_is_space.space_as_plus = true;
    for (auto param : *params) {
        if (param.key.empty() && !param.has_value) continue;
        std::string key, value;
        param.key.decode(plus_is_space, boost::urls::string_token::assign_to(key));
        if (param.has_value) param.value.decode(plus_is_space, boost::urls::string_token::assign_to(value));
        out.emplace_back(std::move(key), std::move(value));
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
