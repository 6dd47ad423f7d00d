// The add and change pages (a form per model, validated as the API validates, errors beside
// their fields, nothing stored on error), a meeting's room and contents on its page, and a
// user's password page.
#include "admin/rows.hpp"
#include "admin/view.hpp"
#include "util/validate.hpp"

namespace castera::admin {
namespace {

using validation::FieldErrors;
using validation::Mode;

// What a POST gave: the saved object's id and name, or the errors to show.
struct Saved {
    Id id = 0;
    std::string repr;
    FieldErrors errors;
    std::optional<http::Response> refusal;  // a page to send instead (the object is gone, ...)
};

void merge(FieldErrors& into, const FieldErrors& from) {
    for (const auto& [field, messages] : from.entries())
        for (const auto& message : messages) into.add(field, message);
}

// A service's refusal on a form: errors beside the fields, or a page.
void refused(View& v, const ModelAdmin& m, const services::Refusal& r, Saved& out) {
    using K = services::Refusal::Kind;
    if (r.kind == K::invalid) merge(out.errors, r.fields);
    else if (r.kind == K::conflict) out.errors.add("email", "User with this Email already exists.");
    else if (r.kind == K::not_found) out.refusal = missing_object(v, m, "?");
    else out.refusal = error_page(v, 403, "Forbidden", "You may not do this.");
}

std::optional<std::string> optional_text(const boost::json::object& data, std::string_view name, std::size_t max,
                                         FieldErrors& errors) {
    auto value = validation::read_char(
        data, name, validation::CharRule{.required = false, .allow_blank = true, .max_length = max}, Mode::full, errors);
    if (!value.ok || value.value.empty()) return std::nullopt;
    return value.value;
}

// ---- saving each model

Task<void> save_user(View& v, const ConsoleRow* existing, Saved& out) {
    const boost::json::object& data = v.data;
    FieldErrors& errors = out.errors;
    auto email = validation::read_char(data, "email", validation::CharRule{.max_length = 254}, Mode::full, errors);
    if (email.ok && email.present && !is_valid_email(email.value)) errors.add("email", "Enter a valid email address.");
    auto full_name = optional_text(data, "full_name", 255, errors);
    std::optional<std::string> image;
    if (!v.field("image").empty()) {
        auto url = validation::read_url(data, "image", 200, errors);
        if (url.ok) image = url.value;
    }
    constexpr std::array<std::string_view, 2> kRoles = {"user", "admin"};
    auto role = validation::read_choice(data, "role", kRoles, true, Mode::full, errors);
    bool active = v.has_field("is_active"), staff = v.has_field("is_staff"), superuser = v.has_field("is_superuser");
    if (!existing) {
        std::string_view p1 = v.field("password1"), p2 = v.field("password2");
        if (p1.empty()) errors.add("password1", "This field is required.");
        if (p2.empty()) errors.add("password2", "This field is required.");
        else if (p1 != p2) errors.add("password2", "The two password fields didn’t match.");
        if (!errors.empty()) co_return;
        services::NewAccount account{.email = email.value, .password = std::string(p1), .full_name = full_name,
                                     .image = image, .role = role.value, .is_staff = staff,
                                     .is_superuser = superuser, .is_active = active};
        auto created = co_await v.services().accounts.create_user(v.actor(), std::move(account));
        if (!created) co_return refused(v, model_admin(AdminModel::user), created.refusal(), out);
        out.id = created->id, out.repr = created->email;
        co_return;
    }
    if (!errors.empty()) co_return;
    User changed = std::get<User>(existing->record);
    changed.email = email.value, changed.full_name = full_name, changed.image = image, changed.role = role.value;
    changed.is_active = active, changed.is_staff = staff, changed.is_superuser = superuser;
    auto done = co_await v.services().accounts.update_user(v.actor(), changed);
    if (!done) co_return refused(v, model_admin(AdminModel::user), done.refusal(), out);
    out.id = changed.id, out.repr = changed.email;
}

Task<void> save_meeting(View& v, const ConsoleRow* existing, Saved& out) {
    boost::json::object data = v.data;
    // An empty description is none, as the API's default.
    if (const auto* d = data.if_contains("description"); d && d->is_string() && d->get_string().empty())
        data["description"] = nullptr;
    MeetingChanges changes = services::read_meeting_changes(data, Mode::full, out.errors);
    changes.user_id = services::read_foreign_key(data, "user", out.errors);
    if (!out.errors.empty()) co_return;
    services::Console& console = v.services().console;
    const ModelAdmin& m = model_admin(AdminModel::meeting);
    if (!existing) {
        auto created = co_await console.create_meeting(v.actor(), std::move(changes));
        if (!created) co_return refused(v, m, created.refusal(), out);
        out.id = created->id, out.repr = created->title;
        co_return;
    }
    auto updated = co_await console.update_meeting(v.actor(), std::get<Meeting>(existing->record), std::move(changes));
    if (!updated) co_return refused(v, m, updated.refusal(), out);
    out.id = updated->id, out.repr = updated->title;
}

// The models the Console service writes whole: read the fields, then create or update.
template <typename Fields, typename Record, typename Read, typename Create, typename Update>
Task<void> save_row(View& v, AdminModel model, const ConsoleRow* existing, Saved& out, Read read, Create create,
                    Update update) {
    Fields fields = read(v.data, out.errors);
    if (!out.errors.empty()) co_return;
    services::Console& console = v.services().console;
    const ModelAdmin& m = model_admin(model);
    if (!existing) {
        auto created = co_await (console.*create)(v.actor(), std::move(fields));
        if (!created) co_return refused(v, m, created.refusal(), out);
        out.id = *created;
    } else {
        const Record& before = std::get<Record>(existing->record);
        auto done = co_await (console.*update)(v.actor(), before, std::move(fields));
        if (!done) co_return refused(v, m, done.refusal(), out);
        out.id = before.id;
    }
}

Task<Saved> save(View& v, const ModelAdmin& m, const ConsoleRow* existing) {
    Saved out;
    using C = services::Console;
    switch (m.model) {
        case AdminModel::user: co_await save_user(v, existing, out); break;
        case AdminModel::meeting: co_await save_meeting(v, existing, out); break;
        case AdminModel::message:
            co_await save_row<services::MessageFields, Message>(v, m.model, existing, out, services::read_message_fields,
                                                                &C::create_message, &C::update_message);
            break;
        case AdminModel::signal:
            co_await save_row<services::SignalFields, Signal>(v, m.model, existing, out, services::read_signal_fields,
                                                              &C::create_signal, &C::update_signal);
            break;
        case AdminModel::recording:
            co_await save_row<services::RecordingFields, Recording>(v, m.model, existing, out,
                                                                    services::read_recording_fields,
                                                                    &C::create_recording, &C::update_recording);
            break;
        case AdminModel::participantstate:
            co_await save_row<services::StateFields, ParticipantState>(v, m.model, existing, out,
                                                                       services::read_state_fields, &C::create_state,
                                                                       &C::update_state);
            break;
    }
    if (out.errors.empty() && !out.refusal && out.repr.empty()) {
        std::string name = m.model == AdminModel::participantstate ? "ParticipantState" : capfirst(m.model_name);
        out.repr = name + " object (" + std::to_string(out.id) + ")";
    }
    co_return out;
}

// ---- drawing a form

void field_row(Html& h, const FormField& f, std::string_view value, bool ticked, const FieldErrors& errors,
               const ConsoleRow* existing) {
    std::string id = "id_" + std::string(f.name);
    std::vector<std::string> messages = errors.messages(f.name);
    std::string describedby;
    if (!messages.empty()) describedby = id + "_error";
    if (!f.help.empty()) describedby += (describedby.empty() ? "" : " ") + id + "_helptext";
    h.open("div", {{"class", messages.empty() ? "form-row field-" + std::string(f.name)
                                              : "form-row errors field-" + std::string(f.name)}});
    if (!messages.empty()) {
        h.open("ul", {{"class", "errorlist"}, {"id", id + "_error"}});
        for (const std::string& message : messages) h.element("li", message);
        h.raw("</ul>");
    }
    std::vector<Attr> attrs{{"name", f.name}, {"id", id}};
    if (f.required && f.widget != Widget::checkbox) attrs.push_back({"required", ""});
    if (!describedby.empty()) attrs.push_back({"aria-describedby", describedby});
    if (!messages.empty()) attrs.push_back({"aria-invalid", "true"});
    const bool checkbox = f.widget == Widget::checkbox;
    if (!checkbox) h.open("label", {{"for", id}, {"class", f.required ? "required" : ""}}).text(f.label).raw(":</label>");
    switch (f.widget) {
        case Widget::textarea:
        case Widget::json:
            attrs.push_back({"rows", f.widget == Widget::json ? "6" : "4"});
            if (f.widget == Widget::json) attrs.push_back({"class", "code"});
            h.open("textarea", attrs).text(value).raw("</textarea>");
            break;
        case Widget::select:
            h.open("select", attrs);
            for (const Choice& c : f.choices) {
                std::vector<Attr> option{{"value", c.value}};
                if (c.value == value) option.push_back({"selected", ""});
                h.open("option", option).text(c.label).raw("</option>");
            }
            h.raw("</select>");
            break;
        case Widget::checkbox:
            attrs.push_back({"type", "checkbox"});
            attrs.push_back({"value", "on"});
            if (ticked) attrs.push_back({"checked", ""});
            h.raw("<div class=\"checkbox-row\">").open("input", attrs);
            h.open("label", {{"for", id}, {"class", "vCheckboxLabel"}}).text(f.label).raw("</label></div>");
            break;
        default: {
            std::string_view type = f.widget == Widget::email        ? "email"
                                    : f.widget == Widget::url         ? "url"
                                    : f.widget == Widget::password    ? "password"
                                    : f.widget == Widget::foreign_key ? "text"
                                                                      : "text";
            attrs.push_back({"type", type});
            if (f.widget != Widget::password) attrs.push_back({"value", value});
            else attrs.push_back({"autocomplete", "new-password"});
            if (f.widget == Widget::foreign_key) {
                attrs.push_back({"inputmode", "numeric"});
                attrs.push_back({"class", "vForeignKeyRawIdAdminField"});
            }
            if (f.widget == Widget::datetime) attrs.push_back({"placeholder", "YYYY-MM-DD hh:mm:ss"});
            if (f.name == "title" || f.name == "email" || f.name == "full_name" || f.name == "file_url" ||
                f.name == "image")
                attrs.push_back({"class", "vTextField"});
            h.open("input", attrs);
            // A raw id shows what it names, linked, as Django's raw_id_fields do.
            if (f.widget == Widget::foreign_key && existing) {
                Cell named = cell(*existing, f.name);
                if (!named.href.empty() && !named.text.empty())
                    h.raw(" <span class=\"related\">").link(named.href, named.text).raw("</span>");
            }
        }
    }
    if (!f.help.empty()) h.open("p", {{"class", "help"}, {"id", id + "_helptext"}}).text(f.help).raw("</p>");
    h.raw("</div>");
}

void form_page(View& v, Html& h, const ModelAdmin& m, const ConsoleRow* existing, const FieldErrors& errors,
               bool posted) {
    if (!errors.empty()) {
        std::size_t n = errors.entries().size();
        h.raw("<p class=\"errornote\">").raw(n == 1 ? "Please correct the error below." : "Please correct the errors below.").raw("</p>");
        for (const std::string& e : errors.messages("__all__"))
            h.raw("<ul class=\"errorlist nonfield\"><li>").text(e).raw("</li></ul>");
    }
    h.raw("<form method=\"post\" class=\"change-form\" novalidate>");
    csrf_field(v, h);
    h.raw("<fieldset class=\"module aligned\">");
    for (const FormField& f : existing ? m.change_fields : m.add_fields) {
        std::string value;
        bool ticked = false;
        if (posted) {
            value = std::string(v.field(f.name));
            ticked = v.has_field(f.name);
        } else if (existing) {
            value = form_value(*existing, f.name);
            ticked = !value.empty();
        } else {
            value = std::string(f.initial);
            ticked = !f.initial.empty();
        }
        field_row(h, f, value, ticked, errors, existing);
    }
    if (existing) {
        for (std::string_view name : m.readonly) {
            h.raw("<div class=\"form-row readonly-row\"><div class=\"label\">").text(readonly_label(name)).raw(":</div>");
            h.raw("<div class=\"readonly\">").text(readonly_text(*existing, name));
            if (name == "password") {
                h.raw("<p class=\"help\">Raw passwords are not stored, so there is no way to see this user’s password, "
                      "but you can change the password using ");
                h.link(admin_url(AdminModel::user) + std::to_string(row_id(*existing)) + "/password/", "this form").raw(".</p>");
            }
            h.raw("</div></div>");
        }
    }
    h.raw("</fieldset><div class=\"submit-row\"><button type=\"submit\" name=\"_save\" class=\"default\">Save</button>"
          "<button type=\"submit\" name=\"_addanother\">Save and add another</button>"
          "<button type=\"submit\" name=\"_continue\">Save and continue editing</button>");
    if (existing)
        h.open("a", {{"class", "deletelink"}, {"href", admin_url(m) + std::to_string(row_id(*existing)) + "/delete/"}})
            .raw("Delete</a>");
    h.raw("</div></form>");
}

// A meeting's page also shows who is in its room now, its participants, messages, recordings.
Task<void> meeting_extras(View& v, Html& h, const Meeting& meeting) {
    std::vector<PeerInfo> present = co_await v.deps.roster.members(meeting.id);
    h.raw("<section class=\"module inline\" aria-labelledby=\"room-now\"><h2 id=\"room-now\">In the room now</h2>");
    if (present.empty()) h.raw("<p>Nobody is in the room.</p>");
    else {
        h.raw("<ul class=\"people\">");
        for (const PeerInfo& p : present)
            h.raw("<li>").link(change_url(AdminModel::user, p.user_id), p.email).raw(" <span class=\"mini\">").text(p.peer_id).raw("</span></li>");
        h.raw("</ul>");
    }
    h.raw("</section>");
    struct Part {
        AdminModel model;
        std::string_view id;
        std::vector<std::string_view> columns;
    };
    const std::vector<Part> parts{{AdminModel::participantstate, "participants", {"user", "audio_muted", "video_stopped", "in_call", "raised_hand", "screen_sharing"}},
                                  {AdminModel::message, "messages", {"user", "content", "timestamp"}},
                                  {AdminModel::recording, "recordings", {"uploaded_by", "file_url", "created_at"}}};
    for (const Part& part : parts) {
        const ModelAdmin& pm = model_admin(part.model);
        ConsoleQuery query;
        query.filters.emplace_back("meeting", std::to_string(meeting.id));
        query.limit = 20;
        auto page = co_await v.services().console.list(v.actor(), part.model, std::move(query));
        if (!page) continue;
        h.open("section", {{"class", "module inline"}, {"aria-labelledby", std::string(part.id)}});
        h.open("h2", {{"id", std::string(part.id)}}).text(capfirst(pm.verbose_name_plural)).raw(" (").number(page->total).raw(")</h2>");
        if (page->rows.empty()) {
            h.raw("<p>None.</p></section>");
            continue;
        }
        h.raw("<div class=\"results\"><table><thead><tr><th scope=\"col\">ID</th>");
        for (std::string_view c : part.columns)
            for (const Column& col : pm.columns)
                if (col.name == c) h.raw("<th scope=\"col\">").text(col.header).raw("</th>");
        h.raw("</tr></thead><tbody>");
        for (const ConsoleRow& row : page->rows) {
            h.raw("<tr><th scope=\"row\">").link(change_url(part.model, row_id(row)), std::to_string(row_id(row))).raw("</th>");
            for (std::string_view c : part.columns) {
                Cell value = cell(row, c);
                std::string label;
                for (const Column& col : pm.columns)
                    if (col.name == c) label = std::string(col.header);
                h.open("td", {{"data-label", label}, {"class", value.boolean < 0 ? "" : value.boolean ? "yes" : "no"}});
                if (!value.href.empty()) h.link(value.href, value.text);
                else h.text(value.text);
                h.raw("</td>");
            }
            h.raw("</tr>");
        }
        h.raw("</tbody></table></div>");
        if (page->total > static_cast<std::int64_t>(page->rows.size()))
            h.raw("<p>").link(admin_url(pm) + "?meeting__id__exact=" + std::to_string(meeting.id), "All " + std::to_string(page->total) + " " + std::string(pm.verbose_name_plural)).raw("</p>");
        h.raw("</section>");
    }
}

// After a save: where Django's buttons lead, with its message.
http::Response after_save(View& v, const ModelAdmin& m, const Saved& saved, bool added) {
    std::string what = "The " + std::string(m.verbose_name) + " “" + saved.repr + "” was " + (added ? "added" : "changed") + " successfully.";
    if (v.has_field("_continue"))
        return redirect(v, change_url(m.model, saved.id), "s:" + what + " You may edit it again below.");
    if (v.has_field("_addanother"))
        return redirect(v, admin_url(m) + "add/",
                        "s:" + what + " You may add another " + std::string(m.verbose_name) + " below.");
    return redirect(v, admin_url(m), "s:" + what);
}

}  // namespace

Task<http::Response> add_view(View& v, const ModelAdmin& m) {
    FieldErrors errors;
    const bool posted = v.req.method == http::Method::post;
    if (posted) {
        Saved saved = co_await save(v, m, nullptr);
        if (saved.refusal) co_return std::move(*saved.refusal);
        if (saved.errors.empty()) co_return after_save(v, m, saved, true);
        errors = std::move(saved.errors);
    }
    std::string content;
    Html h(content);
    form_page(v, h, m, nullptr, errors, posted);
    std::vector<Crumb> crumbs = model_crumbs(m);
    crumbs.push_back({"Add " + std::string(m.verbose_name), {}});
    co_return render(v, 200, "Add " + std::string(m.verbose_name), crumbs, content, "change-form");
}

Task<http::Response> change_view(View& v, const ModelAdmin& m, Id id) {
    auto row = co_await v.services().console.find(v.actor(), m.model, id);
    if (!row) co_return missing_object(v, m, std::to_string(id));
    FieldErrors errors;
    const bool posted = v.req.method == http::Method::post;
    if (posted) {
        Saved saved = co_await save(v, m, &*row);
        if (saved.refusal) co_return std::move(*saved.refusal);
        if (saved.errors.empty()) co_return after_save(v, m, saved, false);
        errors = std::move(saved.errors);
    }
    std::string repr = object_repr(*row);
    std::string content;
    Html h(content);
    h.raw("<div class=\"object-tools\">");
    h.open("a", {{"class", "historylink button"}, {"href", admin_url(m) + std::to_string(id) + "/history/"}}).raw("History</a>");
    h.raw("</div>");
    form_page(v, h, m, &*row, errors, posted);
    if (m.model == AdminModel::meeting) co_await meeting_extras(v, h, std::get<Meeting>(row->record));
    std::vector<Crumb> crumbs = model_crumbs(m);
    crumbs.push_back({repr, {}});
    co_return render(v, 200, "Change " + std::string(m.verbose_name), crumbs, content, "change-form");
}

Task<http::Response> password_view(View& v, Id id) {
    const ModelAdmin& m = model_admin(AdminModel::user);
    auto row = co_await v.services().console.find(v.actor(), AdminModel::user, id);
    if (!row) co_return missing_object(v, m, std::to_string(id));
    const User& user = std::get<User>(row->record);
    FieldErrors errors;
    if (v.req.method == http::Method::post) {
        std::string_view p1 = v.field("password1"), p2 = v.field("password2");
        if (p1.empty()) errors.add("password1", "This field is required.");
        if (p2.empty()) errors.add("password2", "This field is required.");
        else if (p1 != p2) errors.add("password2", "The two password fields didn’t match.");
        if (errors.empty()) {
            auto done = co_await v.services().accounts.change_password(v.actor(), user, std::string(p1));
            if (!done) co_return missing_object(v, m, std::to_string(id));
            http::Response res = redirect(v, change_url(AdminModel::user, id), "s:Password changed successfully.");
            // A new password ends the user's sessions; one's own is opened again, as Django's
            // update_session_auth_hash keeps it.
            if (user.id == v.staff->id) co_await start_session(v.services().accounts, v.deps.cookies, v.req, user, res);
            co_return res;
        }
    }
    std::string content;
    Html h(content);
    if (!errors.empty()) h.raw("<p class=\"errornote\">Please correct the errors below.</p>");
    h.raw("<p>Enter a new password for the user <strong>").text(user.email).raw("</strong>.</p>");
    h.raw("<form method=\"post\" class=\"change-form\" novalidate>");
    csrf_field(v, h);
    h.raw("<fieldset class=\"module aligned\">");
    constexpr FormField kPassword1{"password1", "Password", Widget::password, true};
    constexpr FormField kPassword2{"password2", "Password (again)", Widget::password, true, {}, AdminModel::user, {},
                                   "Enter the same password as before, for verification."};
    field_row(h, kPassword1, {}, false, errors, nullptr);
    field_row(h, kPassword2, {}, false, errors, nullptr);
    h.raw("</fieldset><div class=\"submit-row\"><button type=\"submit\" class=\"default\">Change password</button></div></form>");
    std::vector<Crumb> crumbs = model_crumbs(m);
    crumbs.push_back({user.email, change_url(AdminModel::user, id)});
    crumbs.push_back({"Change password", {}});
    co_return render(v, 200, "Change password: " + user.email, crumbs, content, "change-form");
}

}  // namespace castera::admin
