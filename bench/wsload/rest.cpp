#include "rest.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <stdexcept>

namespace wsload {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kParallel = 4;

http::request<http::string_body> meeting_request(const tcp::endpoint& api, const std::string& token, std::size_t n) {
    http::request<http::string_body> req{http::verb::post, "/api/meetings/", 11};
    req.set(http::field::host, api.address().to_string() + ":" + std::to_string(api.port()));
    req.set(http::field::authorization, "Token " + token);
    req.set(http::field::content_type, "application/json");
    req.body() = R"({"title":"wsload )" + std::to_string(n) + R"(","scheduled_date":"2030-01-01T00:00:00Z"})";
    req.prepare_payload();
    return req;
}

// Creates the meetings whose slots are `first`, `first + kParallel`, ... on one connection.
asio::awaitable<void> create_some(tcp::endpoint api, std::string token, std::size_t first,
                                  std::vector<std::string>& rooms) {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    co_await stream.async_connect(api, asio::use_awaitable);
    beast::flat_buffer buffer;
    for (std::size_t i = first; i < rooms.size(); i += kParallel) {
        co_await http::async_write(stream, meeting_request(api, token, i), asio::use_awaitable);
        http::response<http::string_body> res;
        co_await http::async_read(stream, buffer, res, asio::use_awaitable);
        if (res.result_int() != 201)
            throw std::runtime_error("POST /api/meetings/ answered " + std::to_string(res.result_int()) + ": " +
                                     res.body());
        rooms[i] = boost::json::parse(res.body()).at("room_id").as_string().c_str();
    }
}

}  // namespace

void post_messages(const tcp::endpoint& api, const std::string& token, const std::string& room, std::size_t count) {
    asio::io_context io;
    std::exception_ptr failure;
    std::string host = api.address().to_string() + ":" + std::to_string(api.port());
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        beast::tcp_stream stream(co_await asio::this_coro::executor);
        co_await stream.async_connect(api, asio::use_awaitable);
        beast::flat_buffer buffer;
        auto call = [&](http::verb verb, std::string target, std::string body) -> asio::awaitable<std::string> {
            http::request<http::string_body> req{verb, target, 11};
            req.set(http::field::host, host);
            req.set(http::field::authorization, "Token " + token);
            if (!body.empty()) req.set(http::field::content_type, "application/json");
            req.body() = std::move(body);
            req.prepare_payload();
            co_await http::async_write(stream, req, asio::use_awaitable);
            http::response<http::string_body> res;
            co_await http::async_read(stream, buffer, res, asio::use_awaitable);
            if (res.result_int() >= 300)
                throw std::runtime_error(target + " answered " + std::to_string(res.result_int()) + ": " + res.body());
            co_return res.body();
        };
        std::string meeting = co_await call(http::verb::get, "/api/join/" + room + "/", "");
        auto id = boost::json::parse(meeting).at("id").as_int64();
        for (std::size_t i = 0; i < count; ++i)
            co_await call(http::verb::post, "/api/meetings/" + std::to_string(id) + "/messages/",
                          R"({"content":"history message )" + std::to_string(i) + R"( of the join run"})");
    }, [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
}

std::vector<std::string> create_rooms(const tcp::endpoint& api, const std::string& token, std::size_t count) {
    std::vector<std::string> rooms(count);
    asio::io_context io;
    std::exception_ptr failure;
    for (std::size_t first = 0; first < std::min(kParallel, count); ++first)
        asio::co_spawn(io, create_some(api, token, first, rooms), [&](std::exception_ptr e) {
            if (e && !failure) failure = e;
        });
    io.run();
    if (failure) std::rethrow_exception(failure);
    return rooms;
}

}  // namespace wsload
