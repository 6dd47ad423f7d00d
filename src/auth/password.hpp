// Django's password hashes ("pbkdf2_sha256$<iterations>$<salt>$<base64 digest>"), so that
// castera and the Django app can share one users_user table.
#pragma once

#include <string>
#include <string_view>

namespace castera {

// Django's PBKDF2PasswordHasher default since 4.2; SPEC section 1 asks for it.
inline constexpr int kDefaultPasswordIterations = 600000;

// A new hash of `raw` with a fresh 22-character salt, byte-identical in form to Django's.
// Throws std::invalid_argument when iterations < 1.
std::string make_password(std::string_view raw, int iterations = kDefaultPasswordIterations);

// True when `raw` matches `encoded`. False, never an exception, for unusable ("!..."), empty,
// malformed or unknown-algorithm hashes and for iteration counts outside 1..10,000,000.
bool check_password(std::string_view raw, std::string_view encoded);

// "!" and 40 random letters and digits: no password will ever match it (Django's form).
std::string make_unusable_password();

// Django's is_password_usable: false only for hashes marked unusable with a leading "!".
bool is_usable_password(std::string_view encoded);

}  // namespace castera
