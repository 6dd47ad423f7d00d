#include "http/beast_io.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

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

// Headers every response carries (Django's security middleware defaults).
void add_standard_headers(bhttp::response<bhttp::string_body>& out) {
    out.set(bhttp::field::server, "castera");
    out.set("X-Content-Type-Options", "nosniff");
    out.set("X-Frame-Options", "DENY");
    out.set("Referrer-Policy", "same-origin");
}

bhttp::response<bhttp::string_body> to_beast(Response&& res, unsigned version, bool keep_alive,
                                             bool head) {
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
    add_standard_headers(out);
    bool has_body = res.status != 204 && res.status != 304;
    if (has_body) out.set(bhttp::field::content_type, res.content_type);
    for (auto& [name, value] : res.headers) out.insert(name, value);
    out.keep_alive(keep_alive);
    std::size_t length = res.body.size();
    if (!head) out.body() = std::move(res.body);
    if (has_body) out.content_length(length);
    return out;
}

}  // namespace

Task<void> write_response(beast::tcp_stream& stream, Response res, unsigned version, bool keep_alive,
                          bool head) {
    auto out = to_beast(std::move(res), version, keep_alive, head);
    bhttp::serializer<false, bhttp::string_body> sr{out};
    if (head) sr.split(true);
    stream.expires_after(std::chrono::seconds(30));
    if (head) co_await bhttp::async_write_header(stream, sr, use_tuple);
    else co_await bhttp::async_write(stream, sr, use_tuple);
}

}  // namespace castera::http
