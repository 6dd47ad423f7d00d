// The RSA key the fuzz targets verify Clerk tokens with. Its private half signed the seed
// tokens once and was not kept: the corpora are the only tokens it will ever accept.
#pragma once

#include <string_view>

namespace castera::fuzz {

// A PEM public key whose private half signed the JWTs of fuzz/corpus/jwt and fuzz/corpus/http_request.
inline constexpr std::string_view kJwtPublicKey = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkhT5XrsYM7VYvhY5GjaQ
RVkkaHCZDEKrYtzG1zXPPyqn4mCApJh/rXWmgaINHIc4rI3qW4JHwLRhNb7q2oXD
ZaL1UCWA+JULNm4W4ZgpouOLrpJOfV1txL/6k7sTYfBi1K9NkcNkSSezFFeyZiqw
3c3y5vvSb0+GyWST/oEbHN84Xf2pqT6O0sUBTfAs4nylU6h0Fa/M5L7vsX7Ab7qX
EmJW33UN3drGfB8Cg6kzg3+GogyGlW0AwVywC+BXAH8YoOeqdITFxGIcXoyr6Jnk
KY9/nqz0mYKLovCWVOS+heqc2l9MBeUjYgyjjJRhloyOXytSgMu/jtUcIJ9Azwbt
4QIDAQAB
-----END PUBLIC KEY-----
)";

}  // namespace castera::fuzz
