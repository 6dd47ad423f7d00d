#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "web/embedded_files.hpp"
#include "web/static_files.hpp"

namespace castera::web {
namespace {

// A request as the server hands it over, with its header fields in a map.
struct FakeRequest {
    std::map<std::string, std::string> fields;
    http::Request req;

    explicit FakeRequest(std::string_view path, http::Method method = http::Method::get) {
        req.method = method;
        req.path = path;
        req.target = path;
        req.headers = http::HeaderView(&fields, [](const void* f, std::string_view name) -> std::string_view {
            const auto& map = *static_cast<const std::map<std::string, std::string>*>(f);
            auto it = map.find(std::string(name));
            return it == map.end() ? std::string_view{} : std::string_view(it->second);
        });
    }
};

std::string header(const http::Response& res, std::string_view name) {
    for (const auto& [key, value] : res.headers)
        if (key == name) return value;
    return {};
}

TEST(StaticFiles, TableIsSortedAndFound) {
    auto files = embedded_files();
    ASSERT_FALSE(files.empty());
    EXPECT_TRUE(std::is_sorted(files.begin(), files.end(),
                               [](const EmbeddedFile& a, const EmbeddedFile& b) { return a.path < b.path; }));
    const EmbeddedFile* index = find_embedded_file("app/index.html");
    ASSERT_NE(index, nullptr);
    EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(find_embedded_file("app/missing.html"), nullptr);
}

TEST(StaticFiles, RootRedirectsToTheApp) {
    FakeRequest r("/");
    auto res = serve_static(r.req);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 302u);
    EXPECT_EQ(header(*res, "Location"), "/app/");
}

TEST(StaticFiles, PageRoutesGetTheIndex) {
    for (std::string_view path : {"/app/", "/app/join/5b0c1e4a-0000-4000-8000-000000000000", "/app/a/b"}) {
        FakeRequest r(path);
        auto res = serve_static(r.req);
        ASSERT_TRUE(res) << path;
        EXPECT_EQ(res->status, 200u) << path;
        EXPECT_EQ(res->body, find_embedded_file("app/index.html")->bytes) << path;
        EXPECT_NE(header(*res, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
    }
}

TEST(StaticFiles, EtagGivesNotModified) {
    const EmbeddedFile* js = find_embedded_file("app/assets/main.js");
    ASSERT_NE(js, nullptr);
    FakeRequest r("/app/assets/main.js");
    r.fields["If-None-Match"] = "\"x\", W/" + std::string(js->etag);
    auto res = serve_static(r.req);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 304u);
    EXPECT_TRUE(res->body.empty());
    EXPECT_EQ(header(*res, "ETag"), js->etag);
}

TEST(StaticFiles, NoWayOutAndNoGuessing) {
    for (std::string_view path : {"/app/../x", "/app/assets/..%2fmain.js", "/app/assets%2Fmain.js", "/app/a\\b",
                                  "/app/%5c", "/app//assets/main.js", "/app/assets/nope.js", "/app/assets/dir",
                                  "/app/nope.css"}) {
        FakeRequest r(path);
        auto res = serve_static(r.req);
        ASSERT_TRUE(res) << path;
        EXPECT_EQ(res->status, 404u) << path;
    }
}

TEST(StaticFiles, OtherPathsAndMethodsAreNotOurs) {
    EXPECT_FALSE(serve_static(FakeRequest("/api/meetings/").req));
    EXPECT_FALSE(serve_static(FakeRequest("/application").req));
    EXPECT_FALSE(serve_static(FakeRequest("/app/", http::Method::post).req));
}

}  // namespace
}  // namespace castera::web
