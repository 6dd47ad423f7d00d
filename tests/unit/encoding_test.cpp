#include <gtest/gtest.h>

#include "util/encoding.hpp"

namespace castera {
namespace {

TEST(Base64, EncodesAndDecodesRfc4648Vectors) {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"}};
    for (auto [plain, encoded] : vectors) {
        EXPECT_EQ(base64_encode(plain), encoded);
        EXPECT_EQ(base64_decode(encoded), plain);
    }
}

TEST(Base64, RefusesMalformedInput) {
    for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v!", "Zm 9v", "=Zm9", "Zg==Zg=="})
        EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
}

TEST(Base64Url, HasNoPaddingAndUrlAlphabet) {
    std::string bytes("\xfb\xff\xfe", 3);
    EXPECT_EQ(base64url_encode(bytes), "-__-");
    EXPECT_EQ(base64url_decode("-__-"), bytes);
    EXPECT_EQ(base64url_encode("f"), "Zg");
    EXPECT_EQ(base64url_decode("Zg"), "f");
    EXPECT_FALSE(base64url_decode("Zg==").has_value());
    EXPECT_FALSE(base64url_decode("Z").has_value());
}

TEST(Hashing, Sha256AndHmacVectors) {
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // RFC 4231 test case 2.
    EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ConstantTime, ComparesContentsAndLengths) {
    EXPECT_TRUE(constant_time_equals("same", "same"));
    EXPECT_FALSE(constant_time_equals("same", "samf"));
    EXPECT_FALSE(constant_time_equals("same", "sam"));
    EXPECT_TRUE(constant_time_equals("", ""));
}

}  // namespace
}  // namespace castera
