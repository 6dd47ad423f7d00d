// Room ids: the dashed form the API speaks, from the 32 digits SQLite keeps or any case.
#include <gtest/gtest.h>

#include <string>

#include "util/random.hpp"

namespace castera {
namespace {

TEST(ParseUuid, GivesTheDashedLowerCaseForm) {
    std::string canonical;
    ASSERT_TRUE(parse_uuid("0f8fad5bd9cb469fa16570867728950e", canonical));
    EXPECT_EQ(canonical, "0f8fad5b-d9cb-469f-a165-70867728950e");
    ASSERT_TRUE(parse_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E", canonical));
    EXPECT_EQ(canonical, "0f8fad5b-d9cb-469f-a165-70867728950e");
    ASSERT_TRUE(parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950e", canonical));
    EXPECT_EQ(canonical, "0f8fad5b-d9cb-469f-a165-70867728950e");
}

TEST(ParseUuid, RefusesAnythingElse) {
    std::string canonical;
    EXPECT_FALSE(parse_uuid("", canonical));
    EXPECT_FALSE(parse_uuid("not-a-uuid", canonical));
    EXPECT_FALSE(parse_uuid("0f8fad5bd9cb469fa16570867728950", canonical));     // 31 digits
    EXPECT_FALSE(parse_uuid("0f8fad5bd9cb469fa16570867728950e0", canonical));   // 33 digits
    EXPECT_FALSE(parse_uuid("0f8fad5bd9cb469fa16570867728950g", canonical));    // not hex
    EXPECT_FALSE(parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950g", canonical));
    EXPECT_FALSE(parse_uuid("0f8fad5bd-9cb-469f-a165-70867728950e", canonical));  // a dash misplaced
    EXPECT_FALSE(parse_uuid("0f8fad5b-d9cb-469f-a16570867728950e-", canonical));
    EXPECT_FALSE(parse_uuid("0f8fad5b_d9cb_469f_a165_70867728950e", canonical));
}

}  // namespace
}  // namespace castera
