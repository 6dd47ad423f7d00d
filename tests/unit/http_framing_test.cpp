// What castera reads of a request's framing and of a WebSocket handshake before Beast does
// (src/http/beast_io.cpp, src/http/responses.cpp).
#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include "http/beast_io.hpp"
#include "http/responses.hpp"

namespace castera {
namespace {

namespace bhttp = boost::beast::http;

http::BeastRequest with_coding(std::string_view coding, unsigned version = 11) {
    http::BeastRequest req{bhttp::verb::post, "/api/meetings/", version};
    req.set(bhttp::field::host, "x");
    req.insert(bhttp::field::transfer_encoding, coding);
    return req;
}

TEST(HttpFraming, OnlyChunkedOnHttp11IsReadable) {
    http::BeastRequest plain{bhttp::verb::post, "/api/meetings/", 11};
    EXPECT_TRUE(http::has_readable_framing(plain));
    for (std::string_view ok : {"chunked", "Chunked", "CHUNKED", " chunked "})
        EXPECT_TRUE(http::has_readable_framing(with_coding(ok))) << ok;
    // Beast reads these as no body at all: their bytes would be the next request.
    for (std::string_view bad : {"identity", "gzip", "chunked, gzip", "gzip, chunked", "chunked, chunked", "xchunked",
                                 "chunked;q=1", "", ","})
        EXPECT_FALSE(http::has_readable_framing(with_coding(bad))) << bad;
    EXPECT_FALSE(http::has_readable_framing(with_coding("chunked", 10))) << "HTTP/1.0 has no transfer codings";
    http::BeastRequest twice = with_coding("gzip");
    twice.insert(bhttp::field::transfer_encoding, "chunked");
    EXPECT_FALSE(http::has_readable_framing(twice));
}

struct Refusal {
    unsigned status = 0;
    std::string detail, version_header;
};

std::optional<Refusal> refusal(std::optional<std::string_view> key, std::optional<std::string_view> version) {
    http::BeastRequest req{bhttp::verb::get, "/ws/meetings/x/", 11};
    if (key) req.set(bhttp::field::sec_websocket_key, *key);
    if (version) req.set(bhttp::field::sec_websocket_version, *version);
    http::Request view = http::make_request_view(req, "");
    auto res = http::websocket_handshake_refusal(view);
    if (!res) return std::nullopt;
    Refusal r{res->status, std::string(boost::json::parse(res->body).at("detail").as_string()), ""};
    for (const auto& [name, value] : res->headers)
        if (name == "Sec-WebSocket-Version") r.version_header = value;
    return r;
}

TEST(WebSocketHandshake, TheKeyIsSixteenBytesInBase64AndTheVersion13) {
    EXPECT_FALSE(refusal("dGhlIHNhbXBsZSBub25jZQ==", "13"));
    EXPECT_FALSE(refusal("  dGhlIHNhbXBsZSBub25jZQ==  ", " 13"));
    for (std::string_view bad : {"short", "dGhlIHNhbXBsZSBub25jZQ", "eHh4eHh4eHh4eHh4eHh4", "eHh4eHh4eHh4eHh4eHh4eHg=",
                                 "!!!!!!!!!!!!!!!!!!!!!!==", "-_-_-_-_-_-_-_-_-_-_-_==", "eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXk="}) {
        auto r = refusal(bad, "13");
        ASSERT_TRUE(r) << bad;
        EXPECT_EQ(r->status, 400u) << bad;
        EXPECT_EQ(r->detail, "Bad Sec-WebSocket-Key: it must be 16 bytes in base64.");
    }
    auto missing = refusal(std::nullopt, "13");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 400u);
    EXPECT_EQ(missing->detail, "Missing Sec-WebSocket-Key.");
    auto no_version = refusal("dGhlIHNhbXBsZSBub25jZQ==", std::nullopt);
    ASSERT_TRUE(no_version);
    EXPECT_EQ(no_version->status, 400u);
    EXPECT_EQ(no_version->detail, "Missing Sec-WebSocket-Version.");
    for (std::string_view other : {"8", "14", "13, 8", "013", "abc"}) {
        auto r = refusal("dGhlIHNhbXBsZSBub25jZQ==", other);
        ASSERT_TRUE(r) << other;
        EXPECT_EQ(r->status, 426u) << other;
        EXPECT_EQ(r->version_header, "13");
    }
}

}  // namespace
}  // namespace castera
