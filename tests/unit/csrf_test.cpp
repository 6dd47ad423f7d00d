#include <gtest/gtest.h>

#include "auth/csrf.hpp"

namespace castera {
namespace {

constexpr const char* kSecret = "abcdefghijklmnopqrstuvwxyzABCDEF";
// Made by Django's _mask_cipher_secret(kSecret).
constexpr const char* kDjangoMasked = "Gag687auepNrKzHZXfAgpHrHHUy4gnazGbi9ccgBmyXCWMVedwSzJ2N45jYvIQE4";

TEST(Csrf, UnmasksDjangosTokens) {
    auto secret = unmask_csrf_token(kDjangoMasked);
    ASSERT_TRUE(secret.has_value());
    EXPECT_EQ(*secret, kSecret);
}

TEST(Csrf, MaskingRoundTripsAndVaries) {
    std::string secret = new_csrf_secret();
    ASSERT_EQ(secret.size(), kCsrfSecretLength);
    std::string a = mask_csrf_secret(secret), b = mask_csrf_secret(secret);
    EXPECT_EQ(a.size(), kCsrfTokenLength);
    EXPECT_NE(a, b);
    EXPECT_EQ(unmask_csrf_token(a), secret);
    EXPECT_EQ(unmask_csrf_token(b), secret);
}

TEST(Csrf, MatchesMaskedOrPlainAgainstTheCookie) {
    EXPECT_TRUE(csrf_tokens_match(kDjangoMasked, kSecret));
    EXPECT_TRUE(csrf_tokens_match(kSecret, kSecret));
    EXPECT_TRUE(csrf_tokens_match(kSecret, kDjangoMasked));
    EXPECT_FALSE(csrf_tokens_match("bbcdefghijklmnopqrstuvwxyzABCDEF", kSecret));
}

TEST(Csrf, RefusesMalformedTokens) {
    for (const char* token : {"", "short", "abcdefghijklmnopqrstuvwxyzABCDE!", "abcdefghijklmnopqrstuvwxyzABCDEFG"}) {
        EXPECT_FALSE(unmask_csrf_token(token).has_value()) << token;
        EXPECT_FALSE(csrf_tokens_match(token, kSecret)) << token;
    }
    EXPECT_THROW(mask_csrf_secret("too short"), std::invalid_argument);
}

}  // namespace
}  // namespace castera
