#include <gtest/gtest.h>

#include "util/json_writer.hpp"

namespace castera {
namespace {

TEST(JsonWriter, WritesCompactObjectsInOrder) {
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    w.field("id", 7);
    w.field("title", std::string("Stand-up"));
    w.key("description");
    w.null();
    w.key("list");
    w.begin_array();
    w.value(true);
    w.value(std::int64_t{-3});
    w.end_array();
    w.end_object();
    EXPECT_EQ(out, R"({"id":7,"title":"Stand-up","description":null,"list":[true,-3]})");
}

TEST(JsonWriter, EscapesAsPythonsJsonDumps) {
    std::string out;
    append_json_string(out, "q\"b\\n\n\t\x01 é \xe2\x80\xa8");
    // DRF keeps non-ASCII as is, escapes control characters, and escapes U+2028 for safety.
    EXPECT_EQ(out, "\"q\\\"b\\\\n\\n\\t\\u0001 é \\u2028\"");
}

}  // namespace
}  // namespace castera
