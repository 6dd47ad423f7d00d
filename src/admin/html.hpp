// Server-rendered HTML that escapes by construction: markup comes only from literals in the
// code (raw), and every value a page shows, as text or as an attribute, goes through text()
// or an attribute list, which escape it. A meeting titled "<script>" renders as text.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace castera::admin {

// Appends `value` with &, <, >, " and ' escaped.
void escape_into(std::string& out, std::string_view value);

struct Attr {
    std::string_view name;
    std::string_view value;  // escaped; a boolean attribute ("checked") takes ""
};

class Html {
public:
    explicit Html(std::string& out) : out_(out) {}

    // Markup written in the code: never pass it data.
    Html& raw(std::string_view markup) {
        out_ += markup;
        return *this;
    }
    Html& text(std::string_view value) {
        escape_into(out_, value);
        return *this;
    }
    Html& number(std::int64_t value) {
        out_ += std::to_string(value);
        return *this;
    }
    // <tag name="value" ...>
    Html& open(std::string_view tag, std::initializer_list<Attr> attrs = {}) { return open_tag(tag, attrs.begin(), attrs.end()); }
    Html& open(std::string_view tag, const std::vector<Attr>& attrs) { return open_tag(tag, attrs.data(), attrs.data() + attrs.size()); }
    Html& close(std::string_view tag) {
        out_.append("</").append(tag).append(">");
        return *this;
    }
    // <tag ...>text</tag>
    Html& element(std::string_view tag, std::initializer_list<Attr> attrs, std::string_view content) {
        return open(tag, attrs).text(content).close(tag);
    }
    Html& element(std::string_view tag, std::string_view content) { return element(tag, {}, content); }
    // <a href="...">text</a>
    Html& link(std::string_view href, std::string_view content) { return element("a", {{"href", href}}, content); }

    std::string& out() { return out_; }

private:
    Html& open_tag(std::string_view tag, const Attr* first, const Attr* last);

    std::string& out_;
};

// Percent-encodes a query value or a path part (RFC 3986's unreserved characters stay; '/'
// too when `keep_slash`, as Django's quote does for ?next=).
std::string url_encode(std::string_view value, bool keep_slash = false);

}  // namespace castera::admin
