#include "admin/console.hpp"

#include <boost/json/parse.hpp>

#include <charconv>

#include "admin/view.hpp"
#include "auth/csrf.hpp"
#include "http/body.hpp"
#include "web/embedded_files.hpp"

namespace castera::admin {
namespace {

using http::Method;

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    while (!path.empty()) {
        std::size_t slash = path.find('/');
        std::string_view seg = path.substr(0, slash);
        if (!seg.empty()) out.push_back(seg);
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

bool parse_id(std::string_view text, Id& id) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    return !text.empty() && ec == std::errc{} && end == text.data() + text.size() && id > 0;
}

// The console's own files (web/admin/, embedded with the rest of web/).
http::Response static_file(std::string_view name, const http::Request& req) {
    const web::EmbeddedFile* file = nullptr;
    if (name.find('/') == std::string_view::npos && name.find("..") == std::string_view::npos)
        file = web::find_embedded_file("admin/" + std::string(name));
    http::Response res;
    if (!file) {
        res.status = 404;
        res.content_type = "text/plain; charset=utf-8";
        res.body = "Not found.";
        return res;
    }
    res.add_header("ETag", std::string(file->etag));
    res.add_header("Cache-Control", "no-cache");
    if (req.header("If-None-Match") == file->etag) {
        res.status = 304;
        return res;
    }
    res.content_type = file->content_type;
    res.body.assign(file->bytes);
    return res;
}

// The request's form: urlencoded (what browsers send), or any body the API accepts.
bool read_form(const http::Request& req, View& v) {
    std::string_view type = req.header("Content-Type");
    if (type.empty() || type.starts_with("application/x-www-form-urlencoded")) {
        http::parse_urlencoded(req.body, v.form);
    } else {
        boost::json::object data;
        if (http::parse_body(req, data)) return false;
        for (const auto& [key, value] : data)
            if (value.is_string()) v.form.emplace_back(std::string(key), std::string(value.get_string()));
    }
    for (const auto& [key, value] : v.form) v.data[key] = value;
    return true;
}

// Django's CSRF rules on every POST, the login's included; the refusal as its 403 page.
std::optional<http::Response> check_csrf(View& v) {
    auto refused = v.deps.origins.check_csrf(v.req, v.field("csrfmiddlewaretoken"));
    if (!refused) return std::nullopt;
    std::string reason = "CSRF token missing or incorrect.";
    boost::system::error_code ec;
    auto parsed = boost::json::parse(refused->body, ec);
    if (!ec && parsed.is_object())
        if (const auto* detail = parsed.get_object().if_contains("detail"); detail && detail->is_string()) {
            std::string_view text = detail->get_string();
            if (text.starts_with("CSRF Failed: ")) text.remove_prefix(13);
            reason = std::string(text);
        }
    return error_page(v, 403, "Forbidden", "CSRF verification failed. Request aborted. " + reason);
}

http::Response not_allowed(View& v, std::string_view allow) {
    http::Response res = error_page(v, 405, "Method not allowed", "This page does not take that method.");
    res.add_header("Allow", std::string(allow));
    return res;
}

bool is_get(const http::Request& req) { return req.method == Method::get || req.method == Method::head; }

// A page under /admin/<app>/<model>/...
Task<http::Response> model_page(View& v, const ModelAdmin& m, const std::vector<std::string_view>& seg) {
    const bool get = is_get(v.req), post = v.req.method == Method::post;
    if (seg.size() == 2) {
        if (!get && !post) co_return not_allowed(v, "GET, HEAD, POST");
        co_return co_await changelist_view(v, m);
    }
    if (seg.size() == 3 && seg[2] == "add") {
        if (!get && !post) co_return not_allowed(v, "GET, HEAD, POST");
        co_return co_await add_view(v, m);
    }
    Id id = 0;
    if (!parse_id(seg[2], id)) {
        // Django reads a malformed id as one that names nothing.
        if (seg.size() <= 4) co_return missing_object(v, m, seg[2]);
        co_return error_page(v, 404, "Page not found", "There is no such page.");
    }
    if (seg.size() == 3) co_return redirect(v, "/admin/" + std::string(seg[0]) + "/" + std::string(seg[1]) + "/" +
                                                   std::string(seg[2]) + "/change/");
    if (seg.size() != 4) co_return error_page(v, 404, "Page not found", "There is no such page.");
    std::string_view page = seg[3];
    if (page == "change" || page == "delete" || (page == "password" && m.model == AdminModel::user)) {
        if (!get && !post) co_return not_allowed(v, "GET, HEAD, POST");
        if (page == "change") co_return co_await change_view(v, m, id);
        if (page == "delete") co_return co_await delete_view(v, m, id);
        co_return co_await password_view(v, id);
    }
    if (page == "history") {
        if (!get) co_return not_allowed(v, "GET, HEAD");
        co_return co_await history_view(v, m, id);
    }
    co_return error_page(v, 404, "Page not found", "There is no such page.");
}

// /admin/webhooks/ (the deliveries) and /admin/webhooks/<id>/retry/ (a POST).
Task<http::Response> webhooks_page(View& v, const std::vector<std::string_view>& seg) {
    if (seg.size() == 1) {
        if (!is_get(v.req)) co_return not_allowed(v, "GET, HEAD");
        co_return co_await deliveries_view(v);
    }
    Id id = 0;
    if (seg.size() == 3 && seg[2] == "retry" && parse_id(seg[1], id)) {
        if (v.req.method != Method::post) co_return not_allowed(v, "POST");
        co_return co_await retry_delivery_view(v, id);
    }
    co_return error_page(v, 404, "Page not found", "There is no such page.");
}

Task<http::Response> dispatch(View& v) {
    const http::Request& req = v.req;
    std::vector<std::string_view> seg = segments(req.path.substr(std::string_view("/admin").size()));
    const bool get = is_get(req), post = req.method == Method::post;
    if (post)
        if (auto refused = check_csrf(v)) co_return std::move(*refused);
    if (seg.size() == 1 && seg[0] == "login") {
        if (!get && !post) co_return not_allowed(v, "GET, HEAD, POST");
        co_return co_await login_view(v);
    }
    if (seg.size() == 1 && seg[0] == "logout") {
        if (!post) co_return not_allowed(v, "POST");
        co_return co_await logout_view(v);
    }
    v.staff = co_await signed_in(v);
    if (!v.staff || !services::is_staff(*v.staff)) {
        v.staff.reset();
        co_return to_login(v);
    }
    if (seg.empty()) {
        if (!get) co_return not_allowed(v, "GET, HEAD");
        co_return co_await index_view(v);
    }
    if (seg[0] == "webhooks") co_return co_await webhooks_page(v, seg);
    bool known_app = false;
    for (const ModelAdmin& m : all_models()) known_app = known_app || m.app_label == seg[0];
    if (!known_app) co_return error_page(v, 404, "Page not found", "There is no such page.");
    if (seg.size() == 1) {
        if (!get) co_return not_allowed(v, "GET, HEAD");
        co_return co_await app_index_view(v, seg[0]);
    }
    const ModelAdmin* m = find_model(seg[0], seg[1]);
    if (!m) co_return error_page(v, 404, "Page not found", "There is no such page.");
    co_return co_await model_page(v, *m, seg);
}

}  // namespace

// By the session cookie only, as Django's admin: an API key or Basic credentials do not open
// the console.
Task<std::optional<User>> signed_in(View& v) {
    if (v.req.cookie(kSessionCookie).empty()) co_return std::nullopt;
    Authentication auth = co_await v.deps.authenticator.authenticate(v.req);
    if (auth.method != AuthMethod::session || !auth.user) co_return std::nullopt;
    co_return std::move(auth.user);
}

Task<http::Response> handle(const http::Request& req, Deps& deps) {
    constexpr std::string_view kStatic = "/admin/static/";
    if (req.path.starts_with(kStatic)) co_return static_file(req.path.substr(kStatic.size()), req);
    View v{req, deps};
    http::parse_urlencoded(req.query, v.query);
    if (auto secret = unmask_csrf_token(req.cookie(kCsrfCookie)); secret && !req.cookie(kCsrfCookie).empty()) {
        v.csrf_secret = std::move(*secret);
    } else {
        v.csrf_secret = new_csrf_secret();
        v.new_csrf_cookie = true;
    }
    std::vector<std::pair<std::string, std::string>> message;
    http::parse_urlencoded("m=" + std::string(req.cookie("castera_admin_message")), message);
    if (!message.empty()) v.flash = std::move(message.front().second);
    // As Django's APPEND_SLASH: a GET without the final slash is sent to the page with it.
    if (req.path.back() != '/') {
        if (!is_get(req)) co_return error_page(v, 404, "Page not found", "There is no such page.");
        std::string location = std::string(req.path) + "/";
        if (!req.query.empty()) location.append("?").append(req.query);
        http::Response res = redirect(v, std::move(location));
        res.status = 301;
        co_return res;
    }
    if (req.method == http::Method::post && !read_form(req, v))
        co_return error_page(v, 400, "Bad request", "The form could not be read.");
    co_return co_await dispatch(v);
}

}  // namespace castera::admin
