#include "auth/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <boost/json/parse.hpp>

#include <cmath>

#include "util/encoding.hpp"

namespace castera::jwt {
namespace {

constexpr int kMinimumRsaBits = 2048;

PublicKey own(EVP_PKEY* key) { return PublicKey(key, EVP_PKEY_free); }

bool is_strong_rsa(EVP_PKEY* key) {
    return key && EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= kMinimumRsaBits;
}

std::optional<boost::json::object> json_object(std::string_view text) {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(text, ec);
    if (ec || !value.is_object()) return std::nullopt;
    return std::move(value.get_object());
}

// An RSA public key from its JWK modulus and exponent (base64url, big-endian).
std::optional<PublicKey> key_from_modulus(std::string_view n_text, std::string_view e_text) {
    auto n_bytes = base64url_decode(n_text);
    auto e_bytes = base64url_decode(e_text);
    if (!n_bytes || !e_bytes || n_bytes->empty() || e_bytes->empty() || e_bytes->size() > 8) return std::nullopt;
    auto to_bignum = [](const std::string& bytes) {
        return std::unique_ptr<BIGNUM, decltype(&BN_free)>(
            BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr),
            BN_free);
    };
    auto n = to_bignum(*n_bytes), e = to_bignum(*e_bytes);
    std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> builder(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
    if (!n || !e || !builder || !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
        !OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()))
        return std::nullopt;
    std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(builder.get()),
                                                                   OSSL_PARAM_free);
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr), EVP_PKEY_CTX_free);
    EVP_PKEY* key = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
        return std::nullopt;
    PublicKey owned = own(key);
    if (!is_strong_rsa(key)) return std::nullopt;
    return owned;
}

std::string_view string_member(const boost::json::object& object, std::string_view name) {
    auto it = object.find(name);
    return it != object.end() && it->value().is_string() ? std::string_view(it->value().get_string())
                                                         : std::string_view{};
}

// A NumericDate claim (seconds since the epoch); nothing when absent, false `ok` when malformed.
std::optional<double> numeric_date(const boost::json::object& claims, std::string_view name, bool& ok) {
    auto it = claims.find(name);
    if (it == claims.end()) return std::nullopt;
    const auto& v = it->value();
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    if (v.is_double() && std::isfinite(v.get_double())) return v.get_double();
    ok = false;
    return std::nullopt;
}

bool signature_matches(const Parsed& token, const PublicKey& key) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) return false;
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(token.signature.data()),
                            token.signature.size(),
                            reinterpret_cast<const unsigned char*>(token.signing_input.data()),
                            token.signing_input.size()) == 1;
}

Verified refuse(std::string reason) { return Verified{std::nullopt, std::move(reason)}; }

// exp is required (a session token that never expires is not one Clerk issues); nbf and iat
// are checked when present. The leeway absorbs small clock differences.
std::optional<std::string> time_problem(const boost::json::object& claims, const Policy& policy, TimePoint now) {
    bool ok = true;
    auto exp = numeric_date(claims, "exp", ok);
    auto nbf = numeric_date(claims, "nbf", ok);
    auto iat = numeric_date(claims, "iat", ok);
    if (!ok || !exp) return "Invalid token.";
    double seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
    double leeway = static_cast<double>(policy.leeway.count());
    if (seconds > *exp + leeway) return "Token has expired.";
    if ((nbf && seconds + leeway < *nbf) || (iat && seconds + leeway < *iat)) return "Token is not yet valid.";
    return std::nullopt;
}

std::optional<std::string> audience_problem(const boost::json::object& claims, const Policy& policy) {
    if (!policy.issuer.empty() && string_member(claims, "iss") != policy.issuer) return "Invalid token issuer.";
    if (!policy.authorized_parties.empty()) {
        std::string_view azp = string_member(claims, "azp");
        bool allowed = false;
        for (const auto& party : policy.authorized_parties) allowed = allowed || azp == party;
        if (!allowed) return "Invalid token authorized party.";
    }
    return std::nullopt;
}

}  // namespace

std::optional<PublicKey> key_from_pem(std::string_view pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                  BIO_free);
    if (!bio) return std::nullopt;
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (!key) return std::nullopt;
    PublicKey owned = own(key);
    if (!is_strong_rsa(key)) return std::nullopt;
    return owned;
}

std::optional<std::map<std::string, PublicKey>> keys_from_jwks(std::string_view json) {
    auto document = json_object(json);
    if (!document) return std::nullopt;
    auto keys = document->find("keys");
    if (keys == document->end() || !keys->value().is_array()) return std::nullopt;
    std::map<std::string, PublicKey> out;
    for (const auto& entry : keys->value().get_array()) {
        if (!entry.is_object()) continue;
        const auto& jwk = entry.get_object();
        std::string_view use = string_member(jwk, "use"), alg = string_member(jwk, "alg");
        if (string_member(jwk, "kty") != "RSA" || (!use.empty() && use != "sig") || (!alg.empty() && alg != "RS256"))
            continue;
        if (auto key = key_from_modulus(string_member(jwk, "n"), string_member(jwk, "e")))
            out.emplace(std::string(string_member(jwk, "kid")), std::move(*key));
    }
    return out;
}

std::optional<Parsed> parse(std::string_view token) {
    if (token.empty() || token.size() > kMaxTokenBytes) return std::nullopt;
    std::size_t first = token.find('.');
    std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) return std::nullopt;
    auto header = base64url_decode(token.substr(0, first));
    auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
    auto signature = base64url_decode(token.substr(second + 1));
    if (!header || !payload || !signature) return std::nullopt;
    auto header_object = json_object(*header);
    auto payload_object = json_object(*payload);
    if (!header_object || !payload_object) return std::nullopt;
    return Parsed{std::move(*header_object), std::move(*payload_object), std::string(token.substr(0, second)),
                  std::move(*signature)};
}

std::string key_id(const Parsed& token) { return std::string(string_member(token.header, "kid")); }

Verified verify(const Parsed& token, const PublicKey& key, const Policy& policy, TimePoint now) {
    // The algorithm is ours to choose, never the token's: RS256 only, so "none" and HS256 signed
    // with the public key as an HMAC secret are refused before any cryptography.
    if (string_member(token.header, "alg") != "RS256" || token.header.contains("crit")) return refuse("Invalid token.");
    if (!signature_matches(token, key)) return refuse("Invalid token.");
    if (auto problem = time_problem(token.payload, policy, now)) return refuse(*problem);
    if (auto problem = audience_problem(token.payload, policy)) return refuse(*problem);
    return Verified{token.payload, {}};
}

const boost::json::value* find_claim(const boost::json::object& claims, std::string_view path) {
    const boost::json::object* object = &claims;
    while (true) {
        std::size_t dot = path.find('.');
        auto it = object->find(path.substr(0, dot));
        if (it == object->end()) return nullptr;
        if (dot == std::string_view::npos) return &it->value();
        if (!it->value().is_object()) return nullptr;
        object = &it->value().get_object();
        path.remove_prefix(dot + 1);
    }
}

}  // namespace castera::jwt
