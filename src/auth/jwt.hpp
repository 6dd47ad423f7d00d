// RS256 JSON Web Tokens verified offline: the signature against a known RSA public key, the
// algorithm pinned to RS256, and the time and audience claims. Nothing here touches the network.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/models.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace castera::jwt {

using PublicKey = std::shared_ptr<EVP_PKEY>;

// An RSA public key from PEM ("BEGIN PUBLIC KEY"); nothing when it is not one, or is under
// 2048 bits.
std::optional<PublicKey> key_from_pem(std::string_view pem);

// The RSA signing keys of a JWKS document ({"keys":[{"kty":"RSA","kid","n","e",...}]}), by kid.
// Keys for other uses or algorithms are skipped. Nothing when the document is malformed.
std::optional<std::map<std::string, PublicKey>> keys_from_jwks(std::string_view json);

struct Policy {
    std::string issuer;                            // required "iss" when not empty
    std::vector<std::string> authorized_parties;   // required "azp" among these when not empty
    std::chrono::seconds leeway{5};
};

// The outcome of a verification: the claims, or the reason (a 403 detail).
struct Verified {
    std::optional<boost::json::object> claims;
    std::string error;
};

// The parts of a compact JWS, decoded but not yet trusted.
struct Parsed {
    boost::json::object header;
    boost::json::object payload;
    std::string signing_input;  // "<header>.<payload>" as sent
    std::string signature;      // raw bytes
};

inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;

// Splits and decodes a token; nothing when it is not three base64url parts of JSON objects.
std::optional<Parsed> parse(std::string_view token);

// The kid of a parsed token's header, or empty.
std::string key_id(const Parsed& token);

// Checks the algorithm (RS256 only), the signature with `key`, and exp/nbf/iat/iss/azp.
Verified verify(const Parsed& token, const PublicKey& key, const Policy& policy, TimePoint now);

// A claim by dotted path ("email", "public_metadata.role"); nothing when absent.
const boost::json::value* find_claim(const boost::json::object& claims, std::string_view path);

}  // namespace castera::jwt
