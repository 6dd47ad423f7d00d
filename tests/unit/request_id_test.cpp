// X-Request-ID: a well-formed one is kept, anything else replaced by a fresh one.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "http/request_id.hpp"

namespace {

using castera::http::request_id_for;
using castera::http::well_formed_request_id;

TEST(RequestId, KeepsAWellFormedOne) {
    EXPECT_EQ(request_id_for("abc-DEF_1.2"), "abc-DEF_1.2");
    std::string longest(128, 'a');
    EXPECT_EQ(request_id_for(longest), longest);
}

TEST(RequestId, ReplacesAMalformedOne) {
    for (std::string bad : {std::string(), std::string(129, 'a'), std::string("a b"), std::string("x\r\ny"),
                            std::string("<script>"), std::string("caf\xc3\xa9"), std::string("a,b")}) {
        EXPECT_FALSE(well_formed_request_id(bad)) << bad;
        std::string made = request_id_for(bad);
        EXPECT_NE(made, bad);
        EXPECT_TRUE(well_formed_request_id(made)) << made;
    }
}

TEST(RequestId, MakesDistinctOnesOnEveryThread) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(request_id_for(""));
    std::string other;
    std::thread([&] { other = request_id_for(""); }).join();
    seen.insert(other);
    EXPECT_EQ(seen.size(), 1001u);
}

}  // namespace
