#include "admin/view.hpp"

#include <boost/json/parse.hpp>

#include "admin/rows.hpp"
#include "auth/csrf.hpp"

namespace castera::admin {
namespace {

constexpr std::string_view kMessageCookie = "castera_admin_message";
// Pages carry no script and load nothing from elsewhere; only our stylesheet. Forms post to
// this site only, and no other site may frame a page (clickjacking).
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'";

std::string_view last_value(const Pairs& pairs, std::string_view name) {
    std::string_view found;
    for (const auto& [key, value] : pairs)
        if (key == name) found = value;
    return found;
}

std::string cookie_attributes(const CookieSettings& cookies, std::string_view path) {
    std::string out = "; Path=";
    out.append(path).append("; SameSite=Lax");
    if (cookies.secure) out += "; Secure";
    return out;
}

void set_headers(View& v, http::Response& res) {
    res.add_header("Content-Security-Policy", std::string(kContentSecurityPolicy));
    // Django's never_cache: pages show live data and who is signed in.
    res.add_header("Cache-Control", "max-age=0, no-cache, no-store, must-revalidate, private");
    res.add_header("Vary", "Cookie");
    if (v.new_csrf_cookie)
        res.add_header("Set-Cookie", std::string(kCsrfCookie) + "=" + v.csrf_secret +
                                         "; Max-Age=31449600" + cookie_attributes(v.deps.cookies, "/"));
    if (!v.next_flash.empty())
        res.add_header("Set-Cookie", std::string(kMessageCookie) + "=" + url_encode(v.next_flash) +
                                         "; HttpOnly" + cookie_attributes(v.deps.cookies, "/admin/"));
    else if (!v.flash.empty())
        res.add_header("Set-Cookie", std::string(kMessageCookie) + "=; Max-Age=0; HttpOnly" +
                                         cookie_attributes(v.deps.cookies, "/admin/"));
}

void write_message(Html& h, std::string_view flash) {
    if (flash.size() < 2 || flash[1] != ':') return;
    std::string_view level = flash[0] == 'e' ? "error" : flash[0] == 'w' ? "warning" : "success";
    h.raw("<ul class=\"messagelist\">").open("li", {{"class", level}}).text(flash.substr(2)).raw("</li></ul>");
}

void write_header(View& v, Html& h) {
    h.raw("<header id=\"header\"><div class=\"branding\"><a href=\"/admin/\">Castera administration</a></div>");
    if (v.staff) {
        h.raw("<div class=\"usertools\"><span>Welcome, <strong>").text(v.staff->full_name.value_or(v.staff->email));
        h.raw("</strong>.</span> ");
        h.link(admin_url(AdminModel::user) + std::to_string(v.staff->id) + "/password/", "Change password");
        h.raw(" <form class=\"inline\" method=\"post\" action=\"/admin/logout/\">");
        csrf_field(v, h);
        h.raw("<button type=\"submit\" class=\"link\">Log out</button></form></div>");
    }
    h.raw("</header>");
}

}  // namespace

std::string View::csrf_token() const { return mask_csrf_secret(csrf_secret); }

std::string_view View::param(std::string_view name) const { return last_value(query, name); }
std::string_view View::field(std::string_view name) const { return last_value(form, name); }

std::vector<std::string_view> View::fields(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const auto& [key, value] : form)
        if (key == name) out.push_back(value);
    return out;
}

bool View::has_field(std::string_view name) const {
    for (const auto& [key, value] : form)
        if (key == name) return true;
    return false;
}

void csrf_field(View& v, Html& h) {
    h.open("input", {{"type", "hidden"}, {"name", "csrfmiddlewaretoken"}, {"value", v.csrf_token()}});
}

std::string list_query(const View& v, const Pairs& changes) {
    Pairs out;
    for (const auto& [key, value] : v.query) {
        bool changed = key == "e";
        for (const auto& [ck, cv] : changes) changed = changed || ck == key;
        if (!changed) out.emplace_back(key, value);
    }
    for (const auto& [ck, cv] : changes)
        if (!cv.empty()) out.emplace_back(ck, cv);
    std::string q;
    for (const auto& [key, value] : out) q.append(q.empty() ? "?" : "&").append(url_encode(key)).append("=").append(url_encode(value));
    return q.empty() ? "?" : q;
}

void page_links(const View& v, Html& h, std::int64_t page, std::int64_t total, std::int64_t per_page,
                std::string_view count) {
    std::int64_t pages = (total + per_page - 1) / per_page;
    h.raw("<nav class=\"paginator\" aria-label=\"Pages\">");
    if (pages > 1) {
        // Django's: the first and last two pages, and three either side of this one.
        std::int64_t last_shown = -1;
        for (std::int64_t i = 0; i < pages; ++i) {
            bool shown = i < 2 || i >= pages - 2 || (i >= page - 3 && i <= page + 3);
            if (!shown) continue;
            if (last_shown >= 0 && i > last_shown + 1) h.raw("<span class=\"ellipsis\">…</span> ");
            if (i == page) h.raw("<span class=\"this-page\" aria-current=\"page\">").number(i + 1).raw("</span> ");
            else h.link(list_query(v, {{"p", std::to_string(i)}}), std::to_string(i + 1)).raw(" ");
            last_shown = i;
        }
    }
    h.text(count).raw("</nav>");
}

std::vector<Crumb> model_crumbs(const ModelAdmin& m) {
    return {{std::string(m.app_name), "/admin/" + std::string(m.app_label) + "/"},
            {capfirst(m.verbose_name_plural), admin_url(m)}};
}

http::Response render(View& v, unsigned status, std::string_view title, const std::vector<Crumb>& crumbs,
                      const std::string& content, std::string_view body_class) {
    http::Response res;
    res.status = status;
    res.content_type = "text/html; charset=utf-8";
    res.body.reserve(content.size() + 2048);
    Html h(res.body);
    h.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    h.text(title).raw(" | Castera site admin</title><link rel=\"stylesheet\" href=\"/admin/static/admin.css\"></head>");
    h.open("body", {{"class", body_class}});
    h.raw("<a class=\"skip-link\" href=\"#content\">Skip to main content</a>");
    write_header(v, h);
    if (!crumbs.empty()) {
        h.raw("<nav class=\"breadcrumbs\" aria-label=\"Breadcrumbs\"><a href=\"/admin/\">Home</a>");
        for (const Crumb& c : crumbs) {
            h.raw(" <span aria-hidden=\"true\">›</span> ");
            if (c.href.empty()) h.open("span", {{"aria-current", "page"}}).text(c.label).close("span");
            else h.link(c.href, c.label);
        }
        h.raw("</nav>");
    }
    h.raw("<main id=\"content\">");
    write_message(h, v.flash);
    h.element("h1", title);
    h.raw(content);
    h.raw("</main></body></html>\n");
    set_headers(v, res);
    return res;
}

http::Response redirect(View& v, std::string location, std::string message) {
    http::Response res;
    res.status = 302;
    res.content_type = "text/html; charset=utf-8";
    res.add_header("Location", std::move(location));
    v.next_flash = std::move(message);
    set_headers(v, res);
    return res;
}

http::Response error_page(View& v, unsigned status, std::string_view title, std::string_view text) {
    std::string content;
    Html h(content);
    h.element("p", text).raw("<p><a href=\"/admin/\">Back to the admin's home</a></p>");
    return render(v, status, title, {}, content, "error");
}

http::Response to_login(View& v) {
    std::string next(v.req.path);
    if (!v.req.query.empty()) next.append("?").append(v.req.query);
    return redirect(v, "/admin/login/?next=" + url_encode(next, true));
}

http::Response missing_object(View& v, const ModelAdmin& m, std::string_view id) {
    return redirect(v, "/admin/",
                    "w:" + capfirst(m.verbose_name) + " with ID “" + std::string(id) +
                        "” doesn’t exist. Perhaps it was deleted?");
}

std::string text_list(const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += i + 1 == items.size() ? " and " : ", ";
        out += items[i];
    }
    return out;
}

std::string describe_change(std::string_view change_message) {
    if (change_message.empty() || change_message.front() != '[') return std::string(change_message);
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(change_message, ec);
    if (ec || !parsed.is_array()) return std::string(change_message);
    std::vector<std::string> sentences;
    for (const boost::json::value& item : parsed.get_array()) {
        if (!item.is_object()) continue;
        const boost::json::object& o = item.get_object();
        auto named = [](const boost::json::value& detail) -> std::string {
            if (!detail.is_object() || !detail.get_object().contains("name")) return {};
            const auto& d = detail.get_object();
            auto text = [&](std::string_view k) {
                const auto* v = d.if_contains(k);
                return v && v->is_string() ? std::string(v->get_string()) : std::string();
            };
            return text("name") + " “" + text("object") + "”";
        };
        if (const auto* added = o.if_contains("added")) {
            std::string what = named(*added);
            sentences.push_back(what.empty() ? "Added." : "Added " + what + ".");
        } else if (const auto* changed = o.if_contains("changed")) {
            std::vector<std::string> fields;
            if (changed->is_object())
                if (const auto* list = changed->get_object().if_contains("fields"); list && list->is_array())
                    for (const auto& f : list->get_array())
                        if (f.is_string()) fields.emplace_back(f.get_string());
            std::string what = named(*changed);
            sentences.push_back("Changed " + text_list(fields) + (what.empty() ? "" : " for " + what) + ".");
        } else if (const auto* deleted = o.if_contains("deleted")) {
            sentences.push_back("Deleted " + named(*deleted) + ".");
        }
    }
    std::string out;
    for (const std::string& s : sentences) out += (out.empty() ? "" : " ") + s;
    return out.empty() ? "No fields changed." : out;
}

}  // namespace castera::admin
