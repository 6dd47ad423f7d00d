// The OpenAPI document compiled into the binary (web/api/openapi.json) against the router's
// own table: every route and method of the table is described, and nothing else is.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <algorithm>
#include <cctype>
#include <set>
#include <string>

#include "api/router.hpp"
#include "util/json_yaml.hpp"
#include "web/embedded_files.hpp"

namespace {

namespace json = boost::json;
using namespace castera;

json::object document() {
    const web::EmbeddedFile* file = web::find_embedded_file("api/openapi.json");
    EXPECT_NE(file, nullptr);
    return file ? json::parse(file->bytes).as_object() : json::object{};
}

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

TEST(OpenApiDocument, DescribesEveryRouteOfTheTableWithItsMethods) {
    json::object doc = document();
    const json::object& paths = doc.at("paths").as_object();
    for (std::size_t i = 0; i < api::route_count(); ++i) {
        std::string pattern(api::route_template(i));
        ASSERT_TRUE(paths.contains(pattern)) << pattern << " is in the route table but not in the document";
        std::set<std::string> described;
        for (const auto& [key, value] : paths.at(pattern).as_object())
            if (key != "options" && key != "parameters" && !key.starts_with("x-")) described.insert(upper(key));
        std::set<std::string> routed;
        for (std::string_view m : api::route_methods(i)) routed.insert(std::string(m));
        EXPECT_EQ(described, routed) << "the methods of " << pattern;
    }
}

TEST(OpenApiDocument, DescribesNoRouteTheTableLacks) {
    json::object doc = document();
    std::set<std::string> table;
    for (std::size_t i = 0; i < api::route_count(); ++i) table.insert(std::string(api::route_template(i)));
    for (const auto& [path, item] : doc.at("paths").as_object()) {
        // The readable page is web/ content (web/static_files), not a row of the table.
        if (path.starts_with("/api/docs/")) continue;
        EXPECT_TRUE(table.contains(std::string(path))) << path << " is described but not routed";
    }
}

TEST(JsonToYaml, WritesBlocksAndQuotesEveryString) {
    json::value v = json::parse(R"({"a":1,"b":[true,null,"x: y"],"c":{"d":[],"e":{}},"f":[{"g":"h","i":[1,2]}],"yes":"no"})");
    EXPECT_EQ(json_to_yaml(v),
              "\"a\": 1\n"
              "\"b\":\n  - true\n  - null\n  - \"x: y\"\n"
              "\"c\":\n  \"d\": []\n  \"e\": {}\n"
              "\"f\":\n  -\n    \"g\": \"h\"\n    \"i\":\n      - 1\n      - 2\n"
              "\"yes\": \"no\"\n");
}

TEST(JsonToYaml, EscapesControlCharactersAndQuotes) {
    json::value v = json::parse(R"({"k\"ey":"line\nbreak\t\u0001"})");
    EXPECT_EQ(json_to_yaml(v), "\"k\\\"ey\": \"line\\nbreak\\t\\u0001\"\n");
}

TEST(JsonToYaml, WritesAScalarOrEmptyDocumentInline) {
    EXPECT_EQ(json_to_yaml(json::parse("{}")), "{}\n");
    EXPECT_EQ(json_to_yaml(json::parse("3")), "3\n");
}

}  // namespace
