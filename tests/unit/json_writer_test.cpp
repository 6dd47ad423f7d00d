#include <gtest/gtest.h>

#include "util/json_writer.hpp"
#include "validation/fields.hpp"

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

// Found by fuzz/http_request: a Content-Type that is not UTF-8, echoed in the 415's detail,
// made an answer that no JSON parser accepts.
TEST(JsonWriter, ReplacesWhatIsNotUtf8SoThatTheOutputStaysJson) {
    std::string out;
    // A stray continuation byte, a truncated sequence, an overlong '/', a surrogate, a code
    // point beyond U+10FFFF, then well-formed 2-, 3- and 4-byte characters that stay as they are.
    append_json_string(out, "a\xb9" "b\xe2\x82 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    const std::string r = "\xef\xbf\xbd";
    EXPECT_EQ(out, "\"a" + r + "b" + r + r + " " + r + r + " " + r + r + r + " " + r + r + r + r +
                       " \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
}

// Found by fuzz/json_fields: PATCH .../room/ names each unknown field's error after the field,
// and the name went into the document unescaped (a quote in it wrote JSON of the client's).
TEST(JsonWriter, FieldErrorsNamedByTheClientAreEscaped) {
    validation::FieldErrors errors;
    errors.add("x\":[\"injected\"],\"y", "Unknown field.");
    std::string out;
    JsonWriter w(out);
    errors.write_json(w);
    EXPECT_EQ(out, R"({"x\":[\"injected\"],\"y":["Unknown field."]})");
}

TEST(JsonWriter, EscapesAsPythonsJsonDumps) {
    std::string out;
    append_json_string(out, "q\"b\\n\n\t\x01 é \xe2\x80\xa8");
    // DRF keeps non-ASCII as is, escapes control characters, and escapes U+2028 for safety.
    EXPECT_EQ(out, "\"q\\\"b\\\\n\\n\\t\\u0001 é \\u2028\"");
}

}  // namespace
}  // namespace castera
