// DRF's field rules as castera applies them to JSON input (src/validation/fields.cpp).
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "validation/fields.hpp"

namespace castera {
namespace {

using validation::CharRule;
using validation::FieldErrors;
using validation::Mode;

boost::json::object body(std::string_view json) { return boost::json::parse(json).as_object(); }

// A CharField takes a number as Python's str() of it, as DRF does.
std::string as_char(std::string_view number) {
    FieldErrors errors;
    auto v = validation::read_char(body(std::string("{\"f\": ") + std::string(number) + "}"), "f", CharRule{},
                                   Mode::full, errors);
    EXPECT_TRUE(errors.empty()) << number;
    return v.value;
}

TEST(Fields, NumbersBecomeTextAsPythonWritesThem) {
    EXPECT_EQ(as_char("1"), "1");
    EXPECT_EQ(as_char("-0"), "0");
    EXPECT_EQ(as_char("-0.0"), "-0.0");
    EXPECT_EQ(as_char("1.5"), "1.5");
    EXPECT_EQ(as_char("0.1"), "0.1");
    EXPECT_EQ(as_char("0.0001"), "0.0001");
    EXPECT_EQ(as_char("0.00001"), "1e-05");
    EXPECT_EQ(as_char("1E5"), "100000.0");
    EXPECT_EQ(as_char("1234567890123456.0"), "1234567890123456.0");
    EXPECT_EQ(as_char("1e16"), "1e+16");
    EXPECT_EQ(as_char("18446744073709551615"), "18446744073709551615");  // an unsigned integer
    EXPECT_EQ(as_char("18446744073709551616"), "1.8446744073709552e+19");
    EXPECT_EQ(as_char("-9223372036854775809"), "-9.223372036854776e+18");
    EXPECT_EQ(as_char("123456789012345678901234567890"), "1.2345678901234568e+29");
    EXPECT_EQ(as_char("1e308"), "1e+308");
    EXPECT_EQ(as_char("5e-324"), "5e-324");
    EXPECT_EQ(as_char("-1.0e-5"), "-1e-05");
    EXPECT_EQ(as_char("1e-400"), "0.0");
    EXPECT_EQ(as_char("1e400"), "inf");
    EXPECT_EQ(as_char("-1e400"), "-inf");
}

TEST(Fields, ARefusedChoiceIsShownAsPythonWouldShowIt) {
    FieldErrors errors;
    std::string_view choices[] = {"public", "private"};
    validation::read_choice(body(R"({"type_of": 1e5})"), "type_of", choices, false, Mode::full, errors);
    ASSERT_EQ(errors.messages("type_of").size(), 1u);
    EXPECT_EQ(errors.messages("type_of")[0], "\"100000.0\" is not a valid choice.");
}

TEST(Fields, ADatetimeThatLeavesTheYearsUtcCanHoldIsOutOfRange) {
    FieldErrors errors;
    auto v = validation::read_datetime(body(R"({"when": "9999-12-31T23:59:59-23:59"})"), "when", true, Mode::full,
                                       errors);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(errors.messages("when"), std::vector<std::string>{"Datetime value out of the range."});
    FieldErrors malformed;
    validation::read_datetime(body(R"({"when": "9999-12-32T00:00:00Z"})"), "when", true, Mode::full, malformed);
    ASSERT_EQ(malformed.messages("when").size(), 1u);
    EXPECT_TRUE(malformed.messages("when")[0].starts_with("Datetime has wrong format."));
}

TEST(Fields, JsonTheDatabasesCanKeep) {
    EXPECT_TRUE(validation::is_storable_json(boost::json::parse(R"({"sdp": "v=0", "n": [1, 2.5, null, {"k": "é"}]})")));
    EXPECT_FALSE(validation::is_storable_json(boost::json::parse(R"({"sdp": "a\u0000b"})")));
    EXPECT_FALSE(validation::is_storable_json(boost::json::parse(R"({"k\u0000": 1})")));
    EXPECT_FALSE(validation::is_storable_json(boost::json::parse(R"([[{"n": 1e400}]])")));
    EXPECT_TRUE(validation::is_finite_json(boost::json::parse(R"({"id": "a\u0000b"})")));
    EXPECT_FALSE(validation::is_finite_json(boost::json::parse(R"({"id": [-1e400]})")));
}

}  // namespace
}  // namespace castera
