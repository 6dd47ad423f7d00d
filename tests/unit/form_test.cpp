#include <gtest/gtest.h>

#include "http/message.hpp"

namespace castera::http {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs parse(std::string_view text) {
    Pairs out;
    parse_urlencoded(text, out);
    return out;
}

TEST(Form, DecodesAsDjangosQueryDict) {
    EXPECT_EQ(parse("a=1&b=two+words&c=%C3%A9"), (Pairs{{"a", "1"}, {"b", "two words"}, {"c", "é"}}));
    EXPECT_EQ(parse("flag&empty=&&x=%zz%4"), (Pairs{{"flag", ""}, {"empty", ""}, {"x", "%zz%4"}}));
    EXPECT_EQ(parse(""), Pairs{});
    EXPECT_EQ(parse("k%3D=v%26"), (Pairs{{"k=", "v&"}}));
}

TEST(Form, QueryParamTakesTheLastValue) {
    std::string value;
    EXPECT_TRUE(query_param("limit=5&limit=7", "limit", value));
    EXPECT_EQ(value, "7");
    EXPECT_FALSE(query_param("offset=1", "limit", value));
}

}  // namespace
}  // namespace castera::http
