#include "http/body.hpp"

#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

#include "http/responses.hpp"

namespace castera::http {
namespace {

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The value of one parameter of a header like `multipart/form-data; boundary=x`.
std::string_view header_param(std::string_view header, std::string_view name) {
    std::size_t pos = header.find(';');
    while (pos != std::string_view::npos) {
        std::string_view rest = header.substr(pos + 1);
        std::size_t next = rest.find(';');
        std::string_view item = trim(rest.substr(0, next));
        std::size_t eq = item.find('=');
        if (eq != std::string_view::npos && lower_ascii(trim(item.substr(0, eq))) == name) {
            std::string_view value = trim(item.substr(eq + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            return value;
        }
        pos = next == std::string_view::npos ? next : pos + 1 + next;
    }
    return {};
}

// Python's json module reports errors by line and column; old clients' logs show those.
std::string json_error_message(std::string_view body, std::size_t offset, bool extra_data) {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset && i < body.size(); ++i) {
        if (body[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    std::string what = extra_data ? "Extra data" : "Expecting value";
    return "JSON parse error - " + what + ": line " + std::to_string(line) + " column " +
           std::to_string(column) + " (char " + std::to_string(offset) + ")";
}

std::optional<Response> parse_json(std::string_view body, boost::json::object& data) {
    boost::json::parse_options options;
    options.max_depth = 64;
    boost::json::stream_parser parser({}, options);
    boost::system::error_code ec;
    std::size_t used = parser.write_some(body.data(), body.size(), ec);
    if (ec) return error_response(400, json_error_message(body, used, false));
    // White space after a complete value is fine, as Python's json.loads; anything else is not.
    std::size_t extra = body.find_first_not_of(" \t\r\n", used);
    if (extra != std::string_view::npos) return error_response(400, json_error_message(body, extra, true));
    parser.finish(ec);
    if (ec) return error_response(400, json_error_message(body, body.size(), false));
    boost::json::value value = parser.release();
    if (!value.is_object()) {
        const char* kind = value.is_array() ? "list"
                           : value.is_string() ? "str"
                           : value.is_bool() ? "bool"
                           : value.is_null() ? "NoneType"
                           : value.is_double() ? "float"
                                               : "int";
        return validation_error_response(
            "non_field_errors", std::string("Invalid data. Expected a dictionary, but got ") + kind + ".");
    }
    data = std::move(value.as_object());
    return std::nullopt;
}

std::optional<Response> parse_form(std::string_view body, boost::json::object& data) {
    std::vector<std::pair<std::string, std::string>> pairs;
    if (!parse_urlencoded(body, pairs)) return error_response(400, "Malformed form data.");
    for (auto& [key, value] : pairs) data[key] = value;  // the last value wins, as QueryDict.get
    return std::nullopt;
}

// One part's headers: returns the field name, and whether the part is a file upload.
bool read_part_disposition(std::string_view headers, std::string& name, bool& is_file) {
    std::size_t pos = 0;
    while (pos < headers.size()) {
        std::size_t end = headers.find("\r\n", pos);
        if (end == std::string_view::npos) end = headers.size();
        std::string_view line = headers.substr(pos, end - pos);
        pos = end + 2;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        if (lower_ascii(trim(line.substr(0, colon))) != "content-disposition") continue;
        std::string_view value = line.substr(colon + 1);
        name = std::string(header_param(value, "name"));
        is_file = value.find("filename") != std::string_view::npos;
        return !name.empty();
    }
    return false;
}

std::optional<Response> parse_multipart(std::string_view body, std::string_view content_type,
                                        boost::json::object& data) {
    std::string_view boundary = header_param(content_type, "boundary");
    if (boundary.empty() || boundary.size() > 200)
        return error_response(400, "Multipart form parse error - Invalid boundary in multipart: None");
    std::string delimiter = "--" + std::string(boundary);
    std::size_t pos = body.find(delimiter);
    if (pos == std::string_view::npos)
        return error_response(400, "Multipart form parse error - Invalid boundary in multipart.");
    while (true) {
        pos += delimiter.size();
        if (body.substr(pos, 2) == "--") return std::nullopt;  // the closing delimiter
        if (body.substr(pos, 2) != "\r\n") break;
        pos += 2;
        std::size_t header_end = body.find("\r\n\r\n", pos);
        if (header_end == std::string_view::npos) break;
        std::size_t next = body.find("\r\n" + delimiter, header_end + 4);
        if (next == std::string_view::npos) break;
        std::string name;
        bool is_file = false;
        if (read_part_disposition(body.substr(pos, header_end - pos + 2), name, is_file) && !is_file)
            data[name] = body.substr(header_end + 4, next - header_end - 4);
        pos = next + 2;
    }
    return error_response(400, "Multipart form parse error - malformed body.");
}

}  // namespace

std::optional<Response> parse_body(const Request& req, boost::json::object& data) {
    data.clear();
    std::string_view content_type = req.header("Content-Type");
    if (content_type.empty() || req.body.empty()) return std::nullopt;
    std::string media = lower_ascii(trim(content_type.substr(0, content_type.find(';'))));
    if (media == "application/json") return parse_json(req.body, data);
    if (media == "application/x-www-form-urlencoded") return parse_form(req.body, data);
    if (media == "multipart/form-data") return parse_multipart(req.body, content_type, data);
    return error_response(415, "Unsupported media type \"" + std::string(content_type) + "\" in request.");
}

}  // namespace castera::http
