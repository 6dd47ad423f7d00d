// JWT parsing and the checks that need no signature (those with real keys are in the
// black-box suite, which generates RSA keys in Python).
#include <gtest/gtest.h>

#include "auth/jwt.hpp"
#include "util/encoding.hpp"

namespace castera {
namespace {

std::string token(std::string_view header, std::string_view payload, std::string_view signature = "sig") {
    return base64url_encode(header) + "." + base64url_encode(payload) + "." + base64url_encode(signature);
}

TEST(Jwt, ParsesThreeBase64UrlJsonParts) {
    auto parsed = jwt::parse(token(R"({"alg":"RS256","kid":"k1"})", R"({"email":"a@x.com"})"));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(jwt::key_id(*parsed), "k1");
    EXPECT_EQ(parsed->signature, "sig");
}

TEST(Jwt, RefusesMalformedTokens) {
    for (const std::string& bad : {std::string(""), std::string("a.b"), std::string("a.b.c.d"),
                                   token("[]", "{}"), token("{}", "not json"), std::string("!!.??.##"),
                                   std::string(jwt::kMaxTokenBytes + 1, 'a')})
        EXPECT_FALSE(jwt::parse(bad)) << bad;
}

TEST(Jwt, RefusesKeysThatAreNotStrongRsa) {
    EXPECT_FALSE(jwt::key_from_pem("not a pem"));
    EXPECT_FALSE(jwt::keys_from_jwks("{}"));
    auto none = jwt::keys_from_jwks(R"({"keys":[{"kty":"EC","kid":"e"},{"kty":"RSA","kid":"small","n":"AQAB","e":"AQAB"}]})");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

TEST(Jwt, FindsClaimsByDottedPath) {
    auto parsed = jwt::parse(token("{}", R"({"public_metadata":{"role":"admin"},"email":"a@x.com"})"));
    ASSERT_TRUE(parsed);
    auto role = jwt::find_claim(parsed->payload, "public_metadata.role");
    ASSERT_TRUE(role);
    EXPECT_EQ(role->as_string(), "admin");
    EXPECT_FALSE(jwt::find_claim(parsed->payload, "public_metadata.missing"));
    EXPECT_FALSE(jwt::find_claim(parsed->payload, "email.inner"));
}

}  // namespace
}  // namespace castera
