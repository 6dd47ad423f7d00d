#include "webhooks/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <map>
#include <variant>

namespace castera::webhooks {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A receiver's answer is read only as far as this: its status is all that counts.
constexpr std::size_t kMostHeaderBytes = 16 << 10;
constexpr std::size_t kMostBodyBytes = 64 << 10;
// Idle connections kept per endpoint.
constexpr std::size_t kMostIdle = 16;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection to an endpoint, kept open between deliveries while the receiver allows.
struct Connection {
    std::variant<std::unique_ptr<PlainStream>, std::unique_ptr<TlsStream>> stream;
    beast::flat_buffer buffer;

    beast::tcp_stream& tcp() {
        if (auto* plain = std::get_if<std::unique_ptr<PlainStream>>(&stream)) return **plain;
        return beast::get_lowest_layer(*std::get<std::unique_ptr<TlsStream>>(stream));
    }
};

std::string describe(const beast::error_code& ec) {
    if (ec == beast::error::timeout) return "timed out";
    return ec.message();
}

}  // namespace

struct HttpClient::Impl {
    asio::any_io_executor loop;
    std::chrono::milliseconds timeout;
    asio::ssl::context tls{asio::ssl::context::tls_client};
    std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle;  // by endpoint URL

    Impl(asio::any_io_executor l, std::chrono::milliseconds t) : loop(std::move(l)), timeout(t) {
        tls.set_default_verify_paths();
        tls.set_verify_mode(asio::ssl::verify_peer);
    }

    // Resolves the endpoint's host, bounded by the attempt's deadline.
    asio::awaitable<std::pair<beast::error_code, tcp::resolver::results_type>> resolve(const Endpoint& e) {
        tcp::resolver resolver(loop);
        asio::steady_timer deadline(loop, timeout);
        deadline.async_wait([&resolver](beast::error_code ec) {
            if (!ec) resolver.cancel();
        });
        auto [ec, results] = co_await resolver.async_resolve(e.host, std::to_string(e.port), use_tuple);
        deadline.cancel();
        if (ec == asio::error::operation_aborted) ec = beast::error::timeout;
        co_return std::pair{ec, std::move(results)};
    }

    // A new connection: TCP, then TLS for https (the certificate verified, host name included).
    asio::awaitable<std::pair<std::string, std::unique_ptr<Connection>>> open(const Endpoint& e) {
        auto [resolve_error, addresses] = co_await resolve(e);
        if (resolve_error) co_return std::pair{"resolve: " + describe(resolve_error), nullptr};
        auto conn = std::make_unique<Connection>();
        if (e.tls) conn->stream = std::make_unique<TlsStream>(beast::tcp_stream(loop), tls);
        else conn->stream = std::make_unique<PlainStream>(loop);
        conn->tcp().expires_after(timeout);
        auto [connect_error, connected] = co_await conn->tcp().async_connect(addresses, use_tuple);
        (void)connected;
        if (connect_error) co_return std::pair{"connect: " + describe(connect_error), nullptr};
        beast::error_code ignored;
        conn->tcp().socket().set_option(tcp::no_delay(true), ignored);
        if (e.tls) {
            TlsStream& s = *std::get<std::unique_ptr<TlsStream>>(conn->stream);
            SSL* ssl = s.native_handle();
            // OpenSSL checks that the certificate names the host (an address against its IP
            // names, with no SNI, which carries names only) as part of verifying it, so that a
            // refusal says what was wrong.
            X509_VERIFY_PARAM* expected = SSL_get0_param(ssl);
            const bool address = X509_VERIFY_PARAM_set1_ip_asc(expected, e.host.c_str()) == 1;
            if (!address && (!X509_VERIFY_PARAM_set1_host(expected, e.host.c_str(), e.host.size()) ||
                             !SSL_set_tlsext_host_name(ssl, e.host.c_str())))
                co_return std::pair{std::string("TLS: cannot set the server name"), nullptr};
            auto [handshake_error] = co_await s.async_handshake(asio::ssl::stream_base::client, use_tuple);
            if (handshake_error) {
                long verdict = SSL_get_verify_result(ssl);
                if (verdict != X509_V_OK)
                    co_return std::pair{std::string("TLS: certificate verify failed: ") +
                                            X509_verify_cert_error_string(verdict),
                                        nullptr};
                co_return std::pair{"TLS: " + describe(handshake_error), nullptr};
            }
        }
        co_return std::pair{std::string(), std::move(conn)};
    }

    // One request and its answer on an open connection. `keep` says whether it may be reused.
    template <typename Stream>
    asio::awaitable<Answer> exchange(Stream& stream, Connection& conn, const bhttp::request<bhttp::string_body>& req,
                                     bool& keep, bool& nothing_read) {
        Answer answer;
        auto [write_error, written] = co_await bhttp::async_write(stream, req, use_tuple);
        (void)written;
        if (write_error) {
            answer.error = "send: " + describe(write_error);
            co_return answer;
        }
        bhttp::response_parser<bhttp::string_body> parser;
        parser.header_limit(kMostHeaderBytes);
        parser.body_limit(kMostBodyBytes);
        auto [read_error, read] = co_await bhttp::async_read(stream, conn.buffer, parser, use_tuple);
        (void)read;
        nothing_read = !parser.got_some();
        if (parser.is_header_done()) answer.status = parser.get().result_int();
        if (read_error) {
            answer.error = "answer: " + describe(read_error);
            co_return answer;
        }
        answer.complete = true;
        keep = parser.get().keep_alive();
        if (!answer.delivered()) answer.error = "answered " + std::to_string(*answer.status);
        co_return answer;
    }

    asio::awaitable<Answer> attempt(Connection& conn, const bhttp::request<bhttp::string_body>& req, bool& keep,
                                    bool& nothing_read) {
        conn.tcp().expires_after(timeout);
        if (auto* plain = std::get_if<std::unique_ptr<PlainStream>>(&conn.stream))
            co_return co_await exchange(**plain, conn, req, keep, nothing_read);
        co_return co_await exchange(*std::get<std::unique_ptr<TlsStream>>(conn.stream), conn, req, keep, nothing_read);
    }

    std::unique_ptr<Connection> take_idle(const std::string& url) {
        auto it = idle.find(url);
        if (it == idle.end() || it->second.empty()) return nullptr;
        auto conn = std::move(it->second.back());
        it->second.pop_back();
        return conn;
    }

    void give_back(const std::string& url, std::unique_ptr<Connection> conn) {
        auto& pool = idle[url];
        if (pool.size() < kMostIdle) pool.push_back(std::move(conn));
    }
};

HttpClient::HttpClient(asio::any_io_executor loop, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(std::move(loop), timeout)) {}

HttpClient::~HttpClient() = default;

asio::awaitable<Answer> HttpClient::post(const Endpoint& endpoint, const Headers& headers, const std::string& body) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, endpoint.target, 11};
    req.set(bhttp::field::host, endpoint.host_header);
    req.set(bhttp::field::user_agent, "castera-webhooks");
    req.set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();

    // A kept connection the receiver closed meanwhile fails before any answer: then once more
    // on a new one.
    for (int round = 0; round < 2; ++round) {
        std::unique_ptr<Connection> conn = impl_->take_idle(endpoint.url);
        bool reused = conn != nullptr;
        if (!conn) {
            auto [error, opened] = co_await impl_->open(endpoint);
            if (!opened) co_return Answer{.status = std::nullopt, .error = std::move(error)};
            conn = std::move(opened);
        }
        bool keep = false, nothing_read = true;
        Answer answer = co_await impl_->attempt(*conn, req, keep, nothing_read);
        if (!answer.status && reused && nothing_read) continue;
        if (keep && answer.complete) {
            conn->tcp().expires_never();
            impl_->give_back(endpoint.url, std::move(conn));
        }
        co_return answer;
    }
    co_return Answer{.status = std::nullopt, .error = "the connection was closed"};
}

}  // namespace castera::webhooks
