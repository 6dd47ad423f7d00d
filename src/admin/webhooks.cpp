// The webhook deliveries, for staff: the outbox's rows newest first, filtered by status
// (?status=) and paged as the changelists are (?p=), each failed one with a Retry button. The
// same service as GET /api/webhooks/events/ and its retry route.
#include <charconv>

#include "admin/rows.hpp"
#include "admin/view.hpp"

namespace castera::admin {
namespace {

constexpr std::int64_t kPerPage = 100;  // as the changelists
constexpr std::string_view kListUrl = "/admin/webhooks/";

constexpr Choice kStatuses[] = {{"pending", "Pending"}, {"failed", "Failed"}, {"delivered", "Delivered"}};

bool known_status(std::string_view status) {
    for (const Choice& c : kStatuses)
        if (c.value == status) return true;
    return false;
}

std::string deliveries(std::int64_t n) { return std::to_string(n) + (n == 1 ? " delivery" : " deliveries"); }

// The sidebar's "By status" links; each keeps the rest of the query but the page.
void status_filter(const View& v, Html& h, std::string_view current) {
    h.raw("<nav class=\"filters\" aria-labelledby=\"filter-title\"><h2 id=\"filter-title\">Filter</h2>"
          "<h3>By status</h3><ul>");
    auto item = [&](std::string_view label, std::string_view value) {
        const bool selected = current == value;
        h.raw(selected ? "<li class=\"selected\">" : "<li>");
        std::string href = list_query(v, {{"status", std::string(value)}, {"p", ""}});
        std::vector<Attr> attrs{{"href", href}};
        if (selected) attrs.push_back({"aria-current", "true"});
        h.open("a", attrs).text(label).raw("</a></li>");
    };
    item("All", "");
    for (const Choice& c : kStatuses) item(c.label, c.value);
    h.raw("</ul></nav>");
}

// One cell with its column's name for the phone layout, which shows rows as labelled cards.
void text_cell(Html& h, std::string_view field, std::string_view label, std::string_view text,
          std::string_view extra_class = {}) {
    std::string css = "field-" + std::string(field);
    if (!extra_class.empty()) css.append(" ").append(extra_class);
    h.open("td", {{"class", css}, {"data-label", label}}).text(text).raw("</td>");
}

// A URL with a line break allowed before each '/', '?' and '&' after its host, so that a
// narrow column breaks it between its parts.
void url_cell(Html& h, std::string_view field, std::string_view label, std::string_view url) {
    h.open("td", {{"class", "field-" + std::string(field)}, {"data-label", label}});
    std::size_t scheme = url.find("://");
    std::size_t from = scheme == std::string_view::npos ? 0 : scheme + 3;
    for (std::size_t cut = url.find_first_of("/?&", from); cut != std::string_view::npos;
         cut = url.find_first_of("/?&", 1)) {
        h.text(url.substr(0, cut)).raw("<wbr>");
        url.remove_prefix(cut);
    }
    h.text(url).raw("</td>");
}

// A time to the second, its date and its time each kept on one line: the list has ten
// columns to fit on a laptop.
void time_cell(Html& h, std::string_view field, std::string_view label, std::optional<TimePoint> t) {
    h.open("td", {{"class", "field-" + std::string(field)}, {"data-label", label}});
    if (t) {
        std::string text = show_time(*t);  // "YYYY-MM-DD hh:mm:ss[.uuuuuu]"
        h.raw("<span class=\"nowrap\">").text(text.substr(0, 10)).raw("</span> <span class=\"nowrap\">");
        h.text(text.substr(11, 8)).raw("</span>");
    } else {
        h.raw("-");
    }
    h.raw("</td>");
}

// When the next attempt is due (pending), or when it was delivered.
std::optional<TimePoint> next_or_delivered(const WebhookEvent& e) {
    if (e.status == "pending") return e.next_attempt_at;
    if (e.status == "delivered") return e.delivered_at;
    return std::nullopt;
}

void delivery_rows(View& v, Html& h, const std::vector<WebhookEvent>& rows, std::string_view status) {
    h.raw("<div class=\"results\"><table id=\"result_list\" class=\"deliveries\"><thead><tr>"
          "<th scope=\"col\">ID</th><th scope=\"col\">Type</th><th scope=\"col\">Meeting</th>"
          "<th scope=\"col\">Endpoint</th><th scope=\"col\">Status</th><th scope=\"col\">Attempts</th>"
          "<th scope=\"col\">Last status</th><th scope=\"col\">Last error</th><th scope=\"col\">Created</th>"
          "<th scope=\"col\">Next attempt / delivered</th>"
          "<th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th></tr></thead><tbody>");
    for (const WebhookEvent& e : rows) {
        const std::string id = std::to_string(e.id);
        h.raw("<tr>").open("th", {{"scope", "row"}, {"class", "field-id"}, {"data-label", "ID"}}).text(id).raw("</th>");
        text_cell(h, "type", "Type", e.type);
        h.raw("<td class=\"field-meeting\" data-label=\"Meeting\">");
        if (e.meeting_id != 0) h.link(change_url(AdminModel::meeting, e.meeting_id), std::to_string(e.meeting_id));
        else h.raw("-");
        h.raw("</td>");
        url_cell(h, "endpoint", "Endpoint", e.endpoint);
        text_cell(h, "status", "Status", capfirst(e.status), "status-" + e.status);
        text_cell(h, "attempts", "Attempts", std::to_string(e.attempts));
        text_cell(h, "last_status", "Last status", e.last_status ? std::to_string(*e.last_status) : "-");
        text_cell(h, "last_error", "Last error", e.last_error.value_or("-"));
        time_cell(h, "created_at", "Created", e.created_at);
        time_cell(h, "next", "Next attempt / delivered", next_or_delivered(e));
        h.raw("<td class=\"field-actions\">");
        if (e.status == "failed") {
            h.open("form", {{"class", "inline"}, {"method", "post"}, {"action", std::string(kListUrl) + id + "/retry/"}});
            csrf_field(v, h);
            // Back to the same filter once sent again.
            if (!status.empty()) h.open("input", {{"type", "hidden"}, {"name", "status"}, {"value", status}});
            h.open("button", {{"type", "submit"}, {"aria-label", "Retry delivery " + id}}).raw("Retry</button></form>");
        }
        h.raw("</td></tr>");
    }
    h.raw("</tbody></table></div>");
}

}  // namespace

Task<http::Response> deliveries_view(View& v) {
    std::string status(v.param("status"));
    std::int64_t page = 0;
    if (std::string_view p = v.param("p"); !p.empty()) {
        // As the changelists: a page that is not a number is the first.
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), page);
        if (ec != std::errc{} || end != p.data() + p.size()) page = 0;
    }
    const std::string invalid_url = std::string(kListUrl) + "?e=1";
    if ((!status.empty() && !known_status(status)) || page < 0) co_return redirect(v, invalid_url);
    auto rows = co_await v.services().webhooks.list(v.actor(), status, kPerPage, page * kPerPage);
    if (!rows) co_return redirect(v, invalid_url);
    // A page past the last is invalid, as the changelists have it.
    if (page > 0 && page * kPerPage >= rows->total) co_return redirect(v, invalid_url);

    std::string content;
    Html h(content);
    if (!v.deps.webhooks_enabled)
        h.raw("<p class=\"note\">No webhook endpoint is configured: CASTERA_WEBHOOK_URLS is not set, so no events "
              "are sent. Deliveries recorded before are listed here.</p>");
    if (v.param("e") == "1")
        h.raw("<p class=\"errornote\">The list's parameters were not valid, so the whole list is shown.</p>");
    h.raw("<p class=\"result-count\">").text(deliveries(rows->total)).raw("</p>");
    h.raw("<div class=\"changelist\">");
    status_filter(v, h, status);
    h.raw("<div class=\"changelist-form\">");
    if (rows->rows.empty()) h.raw("<p class=\"empty\">No deliveries match.</p>");
    else delivery_rows(v, h, rows->rows, status);
    h.raw("</div></div>");
    page_links(v, h, page, rows->total, kPerPage, deliveries(rows->total));
    co_return render(v, 200, "Webhook deliveries", {{"Webhook deliveries", {}}}, content, "change-list");
}

Task<http::Response> retry_delivery_view(View& v, Id id) {
    auto retried = co_await v.services().webhooks.retry(v.actor(), id);
    if (!retried) {
        if (retried.refusal().kind == services::Refusal::Kind::forbidden)
            co_return error_page(v, 403, "Forbidden", "You may not send webhook deliveries again.");
        // Unknown, or not failed (only a failed delivery is sent again).
        co_return error_page(v, 404, "Page not found",
                             "No failed webhook delivery has ID “" + std::to_string(id) + "”.");
    }
    std::string back(kListUrl);
    if (std::string_view status = v.field("status"); known_status(status)) back.append("?status=").append(status);
    co_return redirect(v, std::move(back), "s:The webhook delivery “" + std::to_string(id) + "” will be sent again.");
}

}  // namespace castera::admin
