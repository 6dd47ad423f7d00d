// Input checks shared by the API and the command line: UTF-8, Django's URL and email rules.
#pragma once

#include <cstddef>
#include <string_view>

namespace castera {

// Well-formed UTF-8: no overlongs, no surrogates, nothing above U+10FFFF (what a WebSocket
// text message must be).
bool is_well_formed_utf8(std::string_view text);

// Well-formed UTF-8 and no NUL, which neither SQLite text nor PostgreSQL can hold.
bool is_valid_utf8(std::string_view text);

// Length in code points, as Python's len() counts it (the input must be valid UTF-8).
std::size_t utf8_length(std::string_view text);

// Django's URLValidator restricted to http and https: a host name with a top-level domain,
// "localhost", an IPv4 address or a bracketed IPv6 address, an optional port, no white space.
bool is_valid_url(std::string_view url);

// Django's EmailValidator for the common forms: a dot-atom local part, '@', and a domain
// name with a top-level domain (or "localhost").
bool is_valid_email(std::string_view email);

}  // namespace castera
