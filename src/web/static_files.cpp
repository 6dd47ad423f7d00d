#include "web/static_files.hpp"

#include <algorithm>

#include "http/responses.hpp"
#include "web/embedded_files.hpp"

namespace castera::web {

const EmbeddedFile* find_embedded_file(std::string_view path) {
    auto files = embedded_files();
    auto it = std::lower_bound(files.begin(), files.end(), path,
                               [](const EmbeddedFile& f, std::string_view p) { return f.path < p; });
    return it != files.end() && it->path == path ? &*it : nullptr;
}

namespace {

using http::Method;
using http::Request;
using http::Response;

// Our own scripts, styles and images only; media from the camera and from peers arrive as
// blob:/MediaStream; the WebSocket is same-origin (ws: and wss: because 'self' did not cover
// them in older browsers). No inline script or style anywhere, no framing.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// A single-page client mounted at a URL prefix: its files in `dir` of web/, `assets` a
// sub-folder that holds only files, and `index` the page for every other route of it.
struct Mount {
    std::string_view prefix;  // "/app/"
    std::string_view dir;     // "app/"
    std::string_view assets;  // "assets/"
    std::string_view index;   // "app/index.html"
};

constexpr Mount kMounts[] = {
    {"/app/", "app/", "assets/", "app/index.html"},
    // The OpenAPI document's page (api/schema.cpp serves the document itself).
    {"/api/docs/", "api/docs/", "assets/", "api/docs/index.html"},
};

// Only plain paths are looked up: no parent segments, no escapes of any kind (so no encoded
// slash or backslash can reach a name), no backslashes, no empty segments, no control bytes.
bool is_plain_path(std::string_view path) {
    if (path.find("..") != std::string_view::npos || path.find("//") != std::string_view::npos) return false;
    return std::none_of(path.begin(), path.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return c == '%' || c == '\\' || u < 0x20 || u == 0x7f;
    });
}

// If-None-Match holds "*" or a list of (possibly weak) ETags; a GET compares them weakly.
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    while (!if_none_match.empty()) {
        std::size_t comma = if_none_match.find(',');
        std::string_view item = if_none_match.substr(0, comma);
        if_none_match = comma == std::string_view::npos ? std::string_view{} : if_none_match.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item.starts_with("W/")) item.remove_prefix(2);
        if (item == "*" || item == etag) return true;
    }
    return false;
}

Response redirect(unsigned status, std::string location) {
    Response res;
    res.status = status;
    res.content_type = "text/html; charset=utf-8";
    res.add_header("Location", std::move(location));
    return res;
}

// The file, or 304 when the browser's copy is current. Names are not content-hashed, so
// everything is revalidated on use (no-cache): a 304 costs one round trip and no body, and a
// new build can never be mixed with a stale cached module.
Response file_response(const Request& req, const EmbeddedFile& file) {
    Response res;
    res.add_header("ETag", std::string(file.etag));
    res.add_header("Cache-Control", "no-cache");
    if (file.content_type.starts_with("text/html"))
        res.add_header("Content-Security-Policy", std::string(kContentSecurityPolicy));
    if (etag_matches(req.header("If-None-Match"), file.etag)) {
        res.status = 304;
        return res;
    }
    res.content_type = file.content_type;
    res.body.assign(file.bytes);
    return res;
}

// The answer for `rest`, the path below a mount's prefix: a file when one has that name, the
// index for a page route (no extension in its last segment, not under assets/), else 404.
Response serve_in_mount(const Request& req, const Mount& mount, std::string_view rest) {
    std::string path = std::string(mount.dir) + std::string(rest);
    if (!rest.empty() && rest.back() != '/')
        if (const EmbeddedFile* file = find_embedded_file(path)) return file_response(req, *file);
    std::string_view last = rest.substr(rest.rfind('/') == std::string_view::npos ? 0 : rest.rfind('/') + 1);
    bool is_page = !rest.starts_with(mount.assets) && last.find('.') == std::string_view::npos;
    if (is_page)
        if (const EmbeddedFile* index = find_embedded_file(mount.index)) return file_response(req, *index);
    return http::error_response(404, http::kNotFound);
}

}  // namespace

std::optional<Response> serve_static(const Request& req) {
    if (req.method != Method::get && req.method != Method::head) return std::nullopt;
    std::string_view path = req.path;
    if (path == "/") return redirect(302, "/app/");
    for (const Mount& mount : kMounts) {
        std::string_view bare = mount.prefix.substr(0, mount.prefix.size() - 1);
        if (path == bare) {
            std::string location(mount.prefix);
            if (!req.query.empty()) location.append("?").append(req.query);
            return redirect(301, std::move(location));
        }
        if (!path.starts_with(mount.prefix)) continue;
        if (!is_plain_path(path)) return http::error_response(404, http::kNotFound);
        return serve_in_mount(req, mount, path.substr(mount.prefix.size()));
    }
    return std::nullopt;
}

}  // namespace castera::web
