// Fuzz target: Clerk's bearer tokens before anything trusts them (auth/jwt.hpp). An input that
// starts with '{' is a JWKS document, one that starts with "-----BEGIN" a PEM key; anything
// else is a compact JWS, split and decoded, then verified against the corpora's RSA key with
// an issuer and authorized parties to check, at a fixed instant (so that a token's verdict is
// the same on every run), and its claims looked up as authentication looks them up.
#include <cstdint>
#include <string_view>

#include "auth/jwt.hpp"
#include "fuzz_keys.hpp"

namespace {

using namespace castera;

// 2026-01-01T00:00:00Z: the seed tokens are valid then (those meant to be).
TimePoint fixed_now() { return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::seconds(1767225600))); }

const jwt::PublicKey& corpus_key() {
    static const jwt::PublicKey key = *jwt::key_from_pem(fuzz::kJwtPublicKey);
    return key;
}

const jwt::Policy& policy() {
    static const jwt::Policy p{.issuer = "https://clerk.example.com",
                               .authorized_parties = {"https://castera.example.com"}};
    return p;
}

// What the authenticator does with a token (auth/authenticate.cpp, auth/clerk.cpp).
void token(std::string_view text) {
    if (text.size() > jwt::kMaxTokenBytes) return;
    std::optional<jwt::Parsed> parsed = jwt::parse(text);
    if (!parsed) return;
    jwt::key_id(*parsed);
    jwt::Verified verified = jwt::verify(*parsed, corpus_key(), policy(), fixed_now());
    const boost::json::object& claims = verified.claims ? *verified.claims : parsed->payload;
    for (std::string_view path : {"email", "public_metadata.role", "a.b.c", "", ".", "email."})
        jwt::find_claim(claims, path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (text.starts_with('{')) jwt::keys_from_jwks(text);
    else if (text.starts_with("-----BEGIN")) jwt::key_from_pem(text);
    else token(text);
    return 0;
}
