#include "http/beast_io.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <cctype>
#include <charconv>

#include "http/responses.hpp"

namespace castera::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string_view lookup_field(const void* fields, std::string_view name) {
    const auto& f = *static_cast<const bhttp::fields*>(fields);
    auto it = f.find(name);
    return it == f.end() ? std::string_view{} : std::string_view(it->value());
}

}  // namespace

Request make_request_view(const BeastRequest& req, std::string_view remote) {
    Request view;
    view.method_name = req.method_string();
    view.method = parse_method(view.method_name);
    view.target = req.target();
    std::size_t q = view.target.find('?');
    view.path = view.target.substr(0, q);
    if (q != std::string_view::npos) view.query = view.target.substr(q + 1);
    view.body = req.body();
    view.remote_address = remote;
    view.headers = HeaderView(static_cast<const bhttp::fields*>(&req), &lookup_field);
    return view;
}

namespace {

// Header values are ours, but one may echo a client's text (an allowed Origin): a CR or LF
// would let it start a header of its own.
void append_header_value(std::string& out, std::string_view value) {
    for (char c : value)
        if (c != '\r' && c != '\n') out.push_back(c);
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ");
    append_header_value(out, value);
    out.append("\r\n");
}

}  // namespace

Response read_error_response(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return error_response(413, "Request body is too large.");
    if (ec == bhttp::error::header_limit) return error_response(431, "Request header fields are too large.");
    return error_response(400, "Malformed HTTP request.");
}

bool has_valid_host(const BeastRequest::header_type& header) {
    const std::size_t hosts = header.count(bhttp::field::host);
    return header.version() >= 11 ? hosts == 1 : hosts <= 1;
}

namespace {

std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

}  // namespace

bool has_readable_framing(const BeastRequest::header_type& header) {
    const std::size_t codings = header.count(bhttp::field::transfer_encoding);
    if (codings == 0) return true;
    return codings == 1 && header.version() >= 11 &&
           iequals_ascii(trim_blanks(header[bhttp::field::transfer_encoding]), "chunked");
}

// Written by hand: Beast's field container and serializer cost more than the rest of a small
// request's handling.
std::string response_head(const Response& res, unsigned version, bool keep_alive) {
    std::string head;
    head.reserve(256 + res.headers.size() * 64);
    head.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    char status[4] = {char('0' + res.status / 100 % 10), char('0' + res.status / 10 % 10),
                      char('0' + res.status % 10), ' '};
    head.append(status, 4);
    head.append(bhttp::obsolete_reason(static_cast<bhttp::status>(res.status)));
    // Django's security middleware defaults, on every response.
    head.append("\r\nServer: castera\r\nX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
                "Referrer-Policy: same-origin\r\n");
    bool has_body = res.status != 204 && res.status != 304 && res.status >= 200;
    if (has_body) append_header(head, "Content-Type", res.content_type);
    for (const auto& [name, value] : res.headers) append_header(head, name, value);
    if (version == 10 && keep_alive) head.append("Connection: keep-alive\r\n");
    if (version != 10 && !keep_alive) head.append("Connection: close\r\n");
    if (has_body) {
        char digits[24];
        auto [end, ec] = std::to_chars(digits, digits + sizeof digits, res.body.size());
        head.append("Content-Length: ").append(digits, static_cast<std::size_t>(end - digits)).append("\r\n");
    }
    head.append("\r\n");
    return head;
}

Task<void> write_response(beast::tcp_stream& stream, Response res, unsigned version, bool keep_alive,
                          bool head) {
    std::string head_block = response_head(res, version, keep_alive);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head_block), asio::buffer(res.body)};
    if (head || res.status == 204 || res.status == 304) buffers[1] = asio::const_buffer();
    stream.expires_after(std::chrono::seconds(30));
    co_await asio::async_write(stream, buffers, use_tuple);
}

}  // namespace castera::http
