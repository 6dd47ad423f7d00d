// The request and response as handlers see them: plain views and values, no Beast types, so
// that handler code compiles fast and can be tested without a socket.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace castera::http {

enum class Method { get, head, post, put, patch, del, options, other };

// Read access to the request's header fields without copying them.
class HeaderView {
public:
    using Lookup = std::string_view (*)(const void* fields, std::string_view name);
    HeaderView() = default;
    HeaderView(const void* fields, Lookup lookup) : fields_(fields), lookup_(lookup) {}
    // The field's value, or empty when absent. Names are case-insensitive.
    std::string_view get(std::string_view name) const {
        return lookup_ ? lookup_(fields_, name) : std::string_view{};
    }

private:
    const void* fields_ = nullptr;
    Lookup lookup_ = nullptr;
};

struct Request {
    Method method = Method::get;
    std::string_view method_name;  // as sent, for "Method \"X\" not allowed."
    std::string_view target;       // path and query, as sent
    std::string_view path;         // without the query
    std::string_view query;        // after '?', without it
    std::string_view body;
    std::string_view remote_address;
    HeaderView headers;

    std::string_view header(std::string_view name) const { return headers.get(name); }
    // The value of one cookie from the Cookie header, or empty.
    std::string_view cookie(std::string_view name) const;
    // True for POST, PUT, PATCH, DELETE (Django's "unsafe" methods, which need CSRF).
    bool is_unsafe() const;
};

struct Response {
    unsigned status = 200;
    std::string body;
    std::string_view content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;  // extra fields (Set-Cookie, ...)
    // What the router learned, for the access log: the route's template and the caller (0: nobody).
    std::string_view route = "unmatched";
    long long user_id = 0;

    void add_header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
    }
};

Method parse_method(std::string_view name);

// The pairs of an application/x-www-form-urlencoded text (a query string or a form body),
// percent-decoded with '+' as space. Returns false when the text is malformed.
bool parse_urlencoded(std::string_view text, std::vector<std::pair<std::string, std::string>>& out);

// The last value of `name` in a query string; false when absent.
bool query_param(std::string_view query, std::string_view name, std::string& value);

}  // namespace castera::http
