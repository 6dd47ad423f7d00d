// What castera reads of a request's framing before Beast does (src/http/beast_io.cpp).
#include <gtest/gtest.h>

#include <boost/beast/http.hpp>

#include "http/beast_io.hpp"

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

}  // namespace
}  // namespace castera
