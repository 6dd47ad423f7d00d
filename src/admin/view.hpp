// What every page of the console shares: the request as a view sees it (who is signed in, the
// query and the form, the CSRF token for its forms, the message the previous page left), the
// page frame (header, breadcrumbs, messages) and the responses (pages, redirects, errors).
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin/console.hpp"
#include "admin/html.hpp"
#include "admin/registry.hpp"

namespace castera::admin {

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct View {
    const http::Request& req;
    Deps& deps;
    std::optional<User> staff;  // the signed-in staff member (every page but login's)
    Pairs query;                // the query string's pairs, in order
    Pairs form;                 // a POST's form fields, in order
    boost::json::object data;   // the same fields, the last value of each, as the validators read them
    std::string csrf_secret;    // the csrftoken cookie's secret (new when the request had none)
    bool new_csrf_cookie = false;
    std::string flash;          // the message the previous page left, shown once
    std::string next_flash;     // the message this response leaves for the next page

    services::Actor actor() const { return services::Actor::console(*staff); }
    services::Services& services() { return deps.services; }
    // A masked copy of the secret for a form's csrfmiddlewaretoken (new on every page).
    std::string csrf_token() const;
    // The last value of a query or form field, or empty.
    std::string_view param(std::string_view name) const;
    std::string_view field(std::string_view name) const;
    std::vector<std::string_view> fields(std::string_view name) const;
    bool has_field(std::string_view name) const;
};

struct Crumb {
    std::string label;
    std::string href;  // empty: the current page
};

// The page frame around `content`: the header with the user's tools, the breadcrumbs, the
// message of the previous page, the title. Every header the console sends (CSP, no caching)
// and its cookies (CSRF, the message) are set here.
http::Response render(View& v, unsigned status, std::string_view title, const std::vector<Crumb>& crumbs,
                      const std::string& content, std::string_view body_class = "");
// A redirect that leaves `message` for the next page.
http::Response redirect(View& v, std::string location, std::string message = {});
// An error page (404, 403, 405, 400) in the console's frame.
http::Response error_page(View& v, unsigned status, std::string_view title, std::string_view text);
// The redirect of an anonymous or non-staff visitor to the login page, with ?next=.
http::Response to_login(View& v);

// <input type="hidden" name="csrfmiddlewaretoken" ...>
void csrf_field(View& v, Html& h);
// A list page's URL with some query parameters changed ("" removes one; ?e= always goes), as
// its filter, sort and page links need it.
std::string list_query(const View& v, const Pairs& changes);
// A list's pages (?p=, from 0) as Django's paginator links them, and `count` ("3 meetings").
void page_links(const View& v, Html& h, std::int64_t page, std::int64_t total, std::int64_t per_page,
                std::string_view count);
// "<app> › <model>" crumbs down to a model's changelist.
std::vector<Crumb> model_crumbs(const ModelAdmin& m);

// The staff member or user the request's session cookie names (the console takes no other
// credential), whatever their rights; nothing when none.
Task<std::optional<User>> signed_in(View& v);

// The views (one file each group).
Task<http::Response> index_view(View& v);
Task<http::Response> app_index_view(View& v, std::string_view app_label);
Task<http::Response> login_view(View& v);
Task<http::Response> logout_view(View& v);
Task<http::Response> changelist_view(View& v, const ModelAdmin& m);
Task<http::Response> add_view(View& v, const ModelAdmin& m);
Task<http::Response> change_view(View& v, const ModelAdmin& m, Id id);
Task<http::Response> delete_view(View& v, const ModelAdmin& m, Id id);
Task<http::Response> history_view(View& v, const ModelAdmin& m, Id id);
Task<http::Response> password_view(View& v, Id id);
// /admin/webhooks/ and the POST of /admin/webhooks/<id>/retry/.
Task<http::Response> deliveries_view(View& v);
Task<http::Response> retry_delivery_view(View& v, Id id);

// Django's "meeting with ID “x” doesn’t exist. Perhaps it was deleted?", back to the index.
http::Response missing_object(View& v, const ModelAdmin& m, std::string_view id);
// Django's get_change_message(): "Changed Title and Status.", "Added.", ...
std::string describe_change(std::string_view change_message);
// "a, b and c"
std::string text_list(const std::vector<std::string>& items);

}  // namespace castera::admin
