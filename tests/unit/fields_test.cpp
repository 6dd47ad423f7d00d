// DRF's field rules as castera applies them to JSON input (src/validation/fields.cpp).
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "validation/fields.hpp"

namespace castera {
namespace {

using validation::FieldErrors;
using validation::Mode;

boost::json::object body(std::string_view json) { return boost::json::parse(json).as_object(); }

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

}  // namespace
}  // namespace castera
