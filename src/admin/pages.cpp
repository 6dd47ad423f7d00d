// The index, an app's index, login and logout, an object's history and its deletion.
#include <algorithm>

#include "admin/rows.hpp"
#include "admin/view.hpp"

namespace castera::admin {
namespace {

// Django's invalid_login text for a staff sign-in, the username being the email address.
constexpr std::string_view kInvalidLogin =
    "Please enter the correct email address and password for a staff account. Note that both fields may be "
    "case-sensitive.";

// ?next= only to a page of this site (Django's url_has_allowed_host_and_scheme).
std::string safe_next(std::string_view next) {
    bool local = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
    for (unsigned char c : next) local = local && c >= 0x20 && c != 0x7f && c != '\\';
    return local ? std::string(next) : "/admin/";
}

// A model's rows in the index: Add and Change links.
void model_rows(Html& h, std::string_view app_label) {
    std::vector<const ModelAdmin*> models;
    for (const ModelAdmin& m : all_models())
        if (m.app_label == app_label) models.push_back(&m);
    std::sort(models.begin(), models.end(),
              [](const ModelAdmin* a, const ModelAdmin* b) { return a->verbose_name_plural < b->verbose_name_plural; });
    for (const ModelAdmin* m : models) {
        std::string url = admin_url(*m);
        h.raw("<tr><th scope=\"row\">").link(url, capfirst(m->verbose_name_plural)).raw("</th><td>");
        h.open("a", {{"class", "addlink"}, {"href", url + "add/"}}).raw("Add").close("a").raw("</td><td>");
        h.open("a", {{"class", "changelink"}, {"href", url}}).raw("Change").close("a").raw("</td></tr>");
    }
}

void app_module(Html& h, std::string_view app_label, std::string_view app_name) {
    h.raw("<section class=\"module app\">");
    h.raw("<h2>").link("/admin/" + std::string(app_label) + "/", app_name).raw("</h2><table>");
    model_rows(h, app_label);
    h.raw("</table></section>");
}

// The webhooks' module: their deliveries, which are only looked at (and sent again).
void webhooks_module(Html& h) {
    h.raw("<section class=\"module app\"><h2><a href=\"/admin/webhooks/\">Webhooks</a></h2><table>"
          "<tr><th scope=\"row\"><a href=\"/admin/webhooks/\">Deliveries</a></th><td></td><td>"
          "<a class=\"viewlink\" href=\"/admin/webhooks/\">View</a></td></tr></table></section>");
}

std::string_view action_class(int flag) {
    return flag == AdminLogEntry::addition ? "addlink" : flag == AdminLogEntry::deletion ? "deletelink" : "changelink";
}

std::string_view action_name(int flag) {
    return flag == AdminLogEntry::addition ? "Added" : flag == AdminLogEntry::deletion ? "Deleted" : "Changed";
}

void login_form(View& v, Html& h, std::string_view username, std::string_view next,
                const validation::FieldErrors& errors, std::string_view problem) {
    if (!problem.empty()) h.raw("<p class=\"errornote\">").text(problem).raw("</p>");
    if (v.staff && !services::is_staff(*v.staff)) {
        h.raw("<p class=\"errornote\">You are authenticated as ").text(v.staff->email);
        h.raw(", but are not authorized to access this page. Would you like to login to a different account?</p>");
    }
    h.raw("<form class=\"login\" method=\"post\" action=\"/admin/login/\">");
    csrf_field(v, h);
    auto row = [&](std::string_view name, std::string_view label, std::string_view type, std::string_view value,
                   std::string_view autocomplete) {
        h.raw("<div class=\"form-row\">").open("label", {{"for", std::string("id_") + std::string(name)}});
        h.text(label).raw("</label>");
        for (const std::string& e : errors.messages(name)) h.raw("<p class=\"error\">").text(e).raw("</p>");
        std::string id = "id_" + std::string(name);
        std::vector<Attr> attrs{{"type", type}, {"name", name}, {"id", id}, {"autocomplete", autocomplete}, {"required", ""}};
        if (!value.empty()) attrs.push_back({"value", value});
        if (name == "username") attrs.push_back({"autofocus", ""});
        h.open("input", attrs).raw("</div>");
    };
    row("username", "Email", "email", username, "username");
    row("password", "Password", "password", {}, "current-password");
    h.open("input", {{"type", "hidden"}, {"name", "next"}, {"value", next}});
    h.raw("<div class=\"submit-row\"><button type=\"submit\" class=\"default\">Log in</button></div></form>");
}

}  // namespace

Task<http::Response> index_view(View& v) {
    std::string content;
    Html h(content);
    h.raw("<div class=\"dashboard-grid\"><div class=\"app-list\">");
    // Apps in alphabetical order, as Django's index.
    app_module(h, "meetings", "Meetings");
    app_module(h, "users", "Users");
    webhooks_module(h);
    h.raw("</div><aside class=\"module recent-actions\"><h2>Recent actions</h2><h3>My actions</h3>");
    auto recent = co_await v.services().console.recent_actions(v.actor(), 10);
    if (!recent || recent->empty()) {
        h.raw("<p>None available</p>");
    } else {
        h.raw("<ul class=\"actionlist\">");
        for (const AdminLogEntry& e : *recent) {
            h.open("li", {{"class", action_class(e.action_flag)}});
            h.open("span", {{"class", "visually-hidden"}}).text(action_name(e.action_flag)).raw(": </span>");
            const ModelAdmin* m = find_model(e.app_label, e.model);
            if (m && e.action_flag != AdminLogEntry::deletion) h.link(admin_url(*m) + e.object_id + "/change/", e.object_repr);
            else h.text(e.object_repr);
            h.raw("<br><span class=\"mini\">");
            h.text(m ? capfirst(m->verbose_name) : "Unknown content").raw("</span></li>");
        }
        h.raw("</ul>");
    }
    h.raw("</aside></div>");
    co_return render(v, 200, "Site administration", {}, content, "dashboard");
}

Task<http::Response> app_index_view(View& v, std::string_view app_label) {
    std::string_view app_name = app_label == "users" ? "Users" : "Meetings";
    std::string content;
    Html h(content);
    h.raw("<div class=\"app-list\">");
    app_module(h, app_label, app_name);
    h.raw("</div>");
    co_return render(v, 200, std::string(app_name) + " administration", {{std::string(app_name), {}}}, content);
}

Task<http::Response> login_view(View& v) {
    v.staff = co_await signed_in(v);
    std::string next = safe_next(v.req.method == http::Method::post ? v.field("next") : v.param("next"));
    if (v.req.method != http::Method::post) {
        if (v.staff && services::is_staff(*v.staff)) co_return redirect(v, "/admin/");
        std::string content;
        Html h(content);
        login_form(v, h, {}, next, {}, {});
        co_return render(v, 200, "Log in", {}, content, "login");
    }
    validation::FieldErrors errors;
    std::string username(v.field("username")), password(v.field("password"));
    if (username.empty()) errors.add("username", "This field is required.");
    if (password.empty()) errors.add("password", "This field is required.");
    std::string problem;
    unsigned status = 200;
    long retry_after = 0;
    if (errors.empty()) {
        auto user = co_await v.services().accounts.sign_in_with_password(username, std::move(password),
                                                                         v.req.remote_address);
        if (user && services::is_staff(*user)) {
            http::Response res = redirect(v, next);
            co_await start_session(v.services().accounts, v.deps.cookies, v.req, *user, res);
            co_return res;
        }
        if (!user && user.refusal().kind == services::Refusal::Kind::throttled) {
            status = 429;
            retry_after = user.refusal().retry_after;
            problem = "Too many failed login attempts. Try again in " + std::to_string(user.refusal().retry_after) +
                      " seconds.";
        } else {
            // A wrong password, an inactive account and a user who is not staff read the same.
            problem = kInvalidLogin;
        }
    }
    std::string content;
    Html h(content);
    login_form(v, h, username, next, errors, problem);
    http::Response res = render(v, status, "Log in", {}, content, "login");
    if (status == 429) res.add_header("Retry-After", std::to_string(retry_after));
    co_return res;
}

Task<http::Response> logout_view(View& v) {
    std::string content;
    Html h(content);
    h.raw("<p>Thanks for spending some quality time with the web site today.</p>"
          "<p><a href=\"/admin/login/\">Log in again</a></p>");
    http::Response res = render(v, 200, "Logged out", {}, content);
    co_await end_session(v.services().accounts, v.req, res);
    co_return res;
}

Task<http::Response> history_view(View& v, const ModelAdmin& m, Id id) {
    auto row = co_await v.services().console.find(v.actor(), m.model, id);
    if (!row) co_return missing_object(v, m, std::to_string(id));
    auto entries = co_await v.services().console.history(v.actor(), m.model, id);
    std::string repr = object_repr(*row);
    std::string content;
    Html h(content);
    if (!entries || entries->empty()) {
        h.raw("<p>This object doesn’t have a change history. It probably wasn’t added via this admin site.</p>");
    } else {
        h.raw("<div class=\"results\"><table class=\"history\"><thead><tr><th scope=\"col\">Date/time</th>"
              "<th scope=\"col\">User</th><th scope=\"col\">Action</th></tr></thead><tbody>");
        for (const AdminLogEntry& e : *entries) {
            h.raw("<tr><th scope=\"row\">").text(show_time(e.action_time)).raw("</th><td>").text(e.user_email);
            std::string what = e.action_flag == AdminLogEntry::addition   ? "Added."
                               : e.action_flag == AdminLogEntry::deletion ? "Deleted."
                                                                          : describe_change(e.change_message);
            if (e.action_flag == AdminLogEntry::addition && !e.change_message.empty())
                what = describe_change(e.change_message);
            h.raw("</td><td>").text(what).raw("</td></tr>");
        }
        h.raw("</tbody></table></div>");
    }
    std::vector<Crumb> crumbs = model_crumbs(m);
    crumbs.push_back({repr, change_url(m.model, id)});
    crumbs.push_back({"History", {}});
    co_return render(v, 200, "Change history: " + repr, crumbs, content);
}

namespace {

// What goes with the object, as Django's confirmation lists it.
void dependents_list(Html& h, const std::vector<services::Dependents>& dependents) {
    for (const services::Dependents& d : dependents) {
        const ModelAdmin& dm = model_admin(d.model);
        h.raw("<li>").text(capfirst(dm.verbose_name_plural)).raw(": ").number(d.total).raw("<ul>");
        for (const ConsoleRow& r : d.first) {
            h.raw("<li>").text(capfirst(dm.verbose_name)).raw(": ");
            h.link(change_url(d.model, row_id(r)), object_repr(r)).raw("</li>");
        }
        if (d.total > static_cast<std::int64_t>(d.first.size())) {
            h.raw("<li>… and ").number(d.total - static_cast<std::int64_t>(d.first.size())).raw(" more</li>");
        }
        h.raw("</ul></li>");
    }
}

}  // namespace

Task<http::Response> delete_view(View& v, const ModelAdmin& m, Id id) {
    auto row = co_await v.services().console.find(v.actor(), m.model, id);
    if (!row) co_return missing_object(v, m, std::to_string(id));
    std::string repr = object_repr(*row);
    if (v.req.method == http::Method::post) {
        auto done = co_await v.services().console.remove(v.actor(), m.model, id);
        if (!done) co_return missing_object(v, m, std::to_string(id));
        co_return redirect(v, admin_url(m),
                           "s:The " + std::string(m.verbose_name) + " “" + repr + "” was deleted successfully.");
    }
    auto dependents = co_await v.services().console.dependents(v.actor(), m.model, id);
    std::string content;
    Html h(content);
    h.raw("<p>Are you sure you want to delete the ").text(m.verbose_name).raw(" “").text(repr);
    h.raw("”? All of the following related items will be deleted:</p><h2>Objects</h2><ul class=\"deleted-objects\"><li>");
    h.text(capfirst(m.verbose_name)).raw(": ").link(change_url(m.model, id), repr).raw("<ul>");
    if (dependents) dependents_list(h, *dependents);
    h.raw("</ul></li></ul>");
    if (m.model == AdminModel::meeting)
        h.raw("<p class=\"help\">Anyone in the meeting's room now is disconnected.</p>");
    h.raw("<form method=\"post\">");
    csrf_field(v, h);
    h.raw("<input type=\"hidden\" name=\"post\" value=\"yes\"><div class=\"submit-row\">"
          "<button type=\"submit\" class=\"danger\">Yes, I’m sure</button> ");
    h.open("a", {{"class", "button cancel-link"}, {"href", change_url(m.model, id)}}).raw("No, take me back</a>");
    h.raw("</div></form>");
    std::vector<Crumb> crumbs = model_crumbs(m);
    crumbs.push_back({repr, change_url(m.model, id)});
    crumbs.push_back({"Delete", {}});
    co_return render(v, 200, "Are you sure?", crumbs, content, "delete-confirmation");
}

}  // namespace castera::admin
