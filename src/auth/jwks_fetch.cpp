#include "auth/jwks_fetch.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <stdexcept>

namespace castera {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Target {
    bool tls = false;
    std::string host, port, path;
};

Target split_url(const std::string& url) {
    Target t;
    std::string rest;
    if (url.starts_with("https://")) t.tls = true, rest = url.substr(8);
    else if (url.starts_with("http://")) rest = url.substr(7);
    else throw std::runtime_error("not an http(s) URL: " + url);
    std::size_t slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    t.path = slash == std::string::npos ? "/" : rest.substr(slash);
    std::size_t colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']') == std::string::npos) {
        t.host = authority.substr(0, colon);
        t.port = authority.substr(colon + 1);
    } else {
        t.host = authority;
        t.port = t.tls ? "443" : "80";
    }
    if (t.host.empty()) throw std::runtime_error("no host in URL: " + url);
    return t;
}

template <typename Stream>
std::string exchange(Stream& stream, const Target& target) {
    http::request<http::empty_body> req{http::verb::get, target.path, 11};
    req.set(http::field::host, target.host);
    req.set(http::field::user_agent, "castera");
    req.set(http::field::accept, "application/json");
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    http::read(stream, buffer, parser);
    auto& res = parser.get();
    if (res.result() != http::status::ok)
        throw std::runtime_error("GET " + target.path + " answered " + std::to_string(res.result_int()));
    return std::move(res.body());
}

}  // namespace

std::string fetch_url(const std::string& url, std::chrono::seconds timeout) {
    Target target = split_url(url);
    asio::io_context io;
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(target.host, target.port);
    if (!target.tls) {
        beast::tcp_stream stream(io);
        stream.expires_after(timeout);
        stream.connect(endpoints);
        return exchange(stream, target);
    }
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, tls);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), target.host.c_str()))
        throw std::runtime_error("cannot set the TLS server name");
    stream.set_verify_callback(asio::ssl::host_name_verification(target.host));
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).connect(endpoints);
    stream.handshake(asio::ssl::stream_base::client);
    return exchange(stream, target);
}

}  // namespace castera
