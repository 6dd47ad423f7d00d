// Randomness from the operating system's CSPRNG (OpenSSL RAND_bytes).
#pragma once

#include <string>

namespace castera {

// A version 4 UUID, lower case with dashes.
std::string random_uuid4();

// `length` characters drawn from [a-zA-Z0-9] without bias (session keys, CSRF secrets, salts).
std::string random_token(std::size_t length);

// True when `text` is a UUID (any case, with dashes, or 32 hex digits); `canonical` gets the
// lower-case dashed form.
bool parse_uuid(std::string_view text, std::string& canonical);

}  // namespace castera
