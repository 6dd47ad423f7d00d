#include <gtest/gtest.h>

#include "util/validate.hpp"

namespace castera {
namespace {

TEST(Url, AcceptsWhatDjangosUrlValidatorAccepts) {
    const char* good[] = {
        "http://example.com",
        "https://example.com/recordings/1.mp4",
        "https://cdn.example.co.uk:8443/a/b?x=1&y=2#t=10",
        "http://localhost:8000/x",
        "http://127.0.0.1/rec",
        "http://[::1]:8080/rec",
        "http://user:pass@example.com/rec",
        "HTTPS://EXAMPLE.COM/",
        "http://xn--bcher-kva.example/",
        "http://bücher.example/",
        "http://example.com./trailing-dot",
    };
    for (const char* url : good) EXPECT_TRUE(is_valid_url(url)) << url;
}

TEST(Url, RefusesWhatDjangosUrlValidatorRefuses) {
    const char* bad[] = {
        "",
        "example.com",
        "not a url",
        "ftp://example.com/x",  // only http and https here
        "javascript:alert(1)",
        "http://",
        "http://example",
        "http://-example.com",
        "http://example-.com",
        "http://exa mple.com",
        "http://example.com/with space",
        "http://example.com\n",
        "http://256.1.1.1/",
        "http://1.2.3/",
        "http://[not-ipv6]/",
        "http://example.com:123456/",
        "http://example.com:/",
        "http://@example.com",
        "http://a@b@example.com",
        "http://example.c0m",
        "http://example.com\xff",
    };
    for (const char* url : bad) EXPECT_FALSE(is_valid_url(url)) << url;
}

TEST(Url, RefusesOverlongUrls) {
    EXPECT_FALSE(is_valid_url("http://example.com/" + std::string(2100, 'a')));
}

TEST(Email, AcceptsCommonAddresses) {
    for (const char* email : {"a@example.com", "first.last+tag@sub.example.org", "x_y-z@example.co.uk"})
        EXPECT_TRUE(is_valid_email(email)) << email;
}

TEST(Email, RefusesMalformedAddresses) {
    for (const char* email : {"", "plain", "@example.com", "a@", "a@example", "a..b@example.com", ".a@example.com",
                              "a b@example.com", "a@exa mple.com", "a@-example.com"})
        EXPECT_FALSE(is_valid_email(email)) << email;
}

TEST(Utf8, ValidatesAndCounts) {
    EXPECT_TRUE(is_valid_utf8("plain"));
    EXPECT_TRUE(is_valid_utf8("héllo ✓ 😀"));
    EXPECT_EQ(utf8_length("héllo ✓ 😀"), 9u);
    EXPECT_FALSE(is_valid_utf8("\xff"));
    EXPECT_FALSE(is_valid_utf8("\xc3"));              // truncated
    EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // a surrogate
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8(std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace castera
