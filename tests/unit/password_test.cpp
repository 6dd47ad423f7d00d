// Django compatibility of password hashes: the expected strings were made by Django's
// PBKDF2PasswordHasher.encode(password, salt, iterations).
#include <gtest/gtest.h>

#include "auth/password.hpp"

namespace castera {
namespace {

struct DjangoHash {
    const char* password;
    const char* encoded;
};

constexpr DjangoHash kDjangoHashes[] = {
    {"secret123", "pbkdf2_sha256$600000$Tq0Ap1Yh2nE5cFXkWvJ9bZ$3FIocf68qjw1p1WvY/XtnXkV3qVoNNJ0IP1Zc3P/2zU="},
    {"secret123", "pbkdf2_sha256$260000$abcdefghijklmnopqrstuv$Kd5CNSLbcxXqibKMESVUZKFo3xl9OrCjQ4wd7zAH6L0="},
    {"pässwörd ✓", "pbkdf2_sha256$1000$saltsaltsalt$kNVIQLoAKMeJ8E3KDWhO9s5sirS7f8MaXKSmPIFp6sE="},
    {"", "pbkdf2_sha256$1$emptysalt$2WyHTkkzPM6/uliDi1kOerSHnxZhaNdEE08exWV6E6I="},
};

TEST(Password, AcceptsHashesDjangoMade) {
    for (const auto& hash : kDjangoHashes) EXPECT_TRUE(check_password(hash.password, hash.encoded)) << hash.encoded;
}

TEST(Password, RefusesWrongPasswordsForDjangoHashes) {
    for (const auto& hash : kDjangoHashes) {
        EXPECT_FALSE(check_password(std::string(hash.password) + "x", hash.encoded));
        EXPECT_FALSE(check_password("Secret123", hash.encoded));
    }
}

TEST(Password, NewHashesHaveDjangosForm) {
    std::string encoded = make_password("hunter2", 1000);
    ASSERT_TRUE(encoded.starts_with("pbkdf2_sha256$1000$")) << encoded;
    std::string rest = encoded.substr(std::string("pbkdf2_sha256$1000$").size());
    std::size_t dollar = rest.find('$');
    ASSERT_NE(dollar, std::string::npos);
    EXPECT_EQ(dollar, 22u) << "Django's salts are 22 characters";
    EXPECT_EQ(rest.size() - dollar - 1, 44u) << "base64 of 32 bytes";
    EXPECT_TRUE(check_password("hunter2", encoded));
    EXPECT_FALSE(check_password("hunter3", encoded));
}

TEST(Password, DefaultIterationsAre600000) {
    EXPECT_EQ(kDefaultPasswordIterations, 600000);
    EXPECT_TRUE(make_password("x").starts_with("pbkdf2_sha256$600000$"));
}

TEST(Password, SaltsDiffer) { EXPECT_NE(make_password("same", 1), make_password("same", 1)); }

TEST(Password, UnusableHashesNeverMatch) {
    std::string unusable = make_unusable_password();
    EXPECT_EQ(unusable.front(), '!');
    EXPECT_EQ(unusable.size(), 41u);
    EXPECT_FALSE(is_usable_password(unusable));
    EXPECT_FALSE(check_password("", unusable));
    EXPECT_FALSE(check_password(unusable, unusable));
    EXPECT_TRUE(is_usable_password(kDjangoHashes[0].encoded));
}

TEST(Password, MalformedHashesAreRefusedWithoutThrowing) {
    const char* malformed[] = {
        "",
        "pbkdf2_sha256",
        "pbkdf2_sha256$$salt$digest",
        "pbkdf2_sha256$abc$salt$3FIocf68qjw1p1WvY/XtnXkV3qVoNNJ0IP1Zc3P/2zU=",
        "pbkdf2_sha256$-5$salt$3FIocf68qjw1p1WvY/XtnXkV3qVoNNJ0IP1Zc3P/2zU=",
        "pbkdf2_sha256$0$salt$3FIocf68qjw1p1WvY/XtnXkV3qVoNNJ0IP1Zc3P/2zU=",
        "pbkdf2_sha256$99999999999$salt$x",
        "pbkdf2_sha256$1000$$kNVIQLoAKMeJ8E3KDWhO9s5sirS7f8MaXKSmPIFp6sE=",
        "md5$1000$saltsaltsalt$kNVIQLoAKMeJ8E3KDWhO9s5sirS7f8MaXKSmPIFp6sE=",
        "pbkdf2_sha1$1000$saltsaltsalt$kNVIQLoAKMeJ8E3KDWhO9s5sirS7f8MaXKSmPIFp6sE=",
        "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuv",
    };
    for (const char* encoded : malformed) {
        EXPECT_NO_THROW(check_password("secret123", encoded)) << encoded;
        EXPECT_FALSE(check_password("secret123", encoded)) << encoded;
    }
}

TEST(Password, RefusesBadIterationSettings) { EXPECT_THROW(make_password("x", 0), std::invalid_argument); }

}  // namespace
}  // namespace castera
