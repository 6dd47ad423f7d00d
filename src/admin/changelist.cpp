// The changelist: Django's list page with its query parameters (q, o, p, <field>__exact=, e)
// and the bulk "delete selected" action with its confirmation page.
#include <charconv>

#include "admin/rows.hpp"
#include "admin/view.hpp"

namespace castera::admin {
namespace {

constexpr std::int64_t kPerPage = 100;  // Django's list_per_page

struct ListParams {
    std::string q;
    std::vector<std::pair<std::size_t, bool>> order;  // column index (0-based), descending
    std::int64_t page = 0;
    Pairs filters;  // field name (without __exact) and value
    bool invalid = false;
};

// Django's smart_split for search terms: words, or "quoted phrases".
std::vector<std::string> search_words(std::string_view q) {
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < q.size()) {
        while (i < q.size() && std::isspace(static_cast<unsigned char>(q[i]))) ++i;
        if (i >= q.size()) break;
        std::string word;
        if (q[i] == '"' || q[i] == '\'') {
            char quote = q[i++];
            while (i < q.size() && q[i] != quote) word += q[i++];
            ++i;
        } else {
            while (i < q.size() && !std::isspace(static_cast<unsigned char>(q[i]))) word += q[i++];
        }
        if (!word.empty()) words.push_back(std::move(word));
    }
    return words;
}

bool parse_int(std::string_view text, std::int64_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

// "o=2.-1": 1-based indexes into the columns, '-' for descending (column 0 in Django is the
// action checkbox). Junk and columns that cannot be sorted are skipped, as Django does.
std::vector<std::pair<std::size_t, bool>> parse_order(const ModelAdmin& m, std::string_view o) {
    std::vector<std::pair<std::size_t, bool>> out;
    while (!o.empty()) {
        std::size_t dot = o.find('.');
        std::string_view part = o.substr(0, dot);
        o = dot == std::string_view::npos ? std::string_view{} : o.substr(dot + 1);
        bool descending = part.starts_with('-');
        if (descending) part.remove_prefix(1);
        std::int64_t index = 0;
        if (!parse_int(part, index) || index < 1 || index > static_cast<std::int64_t>(m.columns.size())) continue;
        std::size_t column = static_cast<std::size_t>(index - 1);
        if (m.columns[column].sort_field.empty()) continue;
        bool seen = false;
        for (auto& [c, d] : out) seen = seen || c == column;
        if (!seen) out.emplace_back(column, descending);
    }
    return out;
}

ListParams read_params(const View& v, const ModelAdmin& m) {
    ListParams p;
    for (const auto& [key, value] : v.query) {
        if (key == "q") p.q = value;
        else if (key == "o") p.order = parse_order(m, value);
        else if (key == "p") {
            // Django reads a page that is not a number as the first.
            if (!parse_int(value, p.page)) p.page = 0;
        } else if (key == "e" || key == "all" || key == "_to_field" || key == "_popup") {
        } else if (key.ends_with("__exact")) {
            std::string field = key.substr(0, key.size() - 7);
            if (field.ends_with("__id")) field.resize(field.size() - 4);  // a foreign key by its id
            if (!console_filter_valid(m.model, field, value)) p.invalid = true;
            else p.filters.emplace_back(std::move(field), value);
        } else {
            p.invalid = true;  // Django: IncorrectLookupParameters
        }
    }
    if (p.page < 0) p.invalid = true;
    return p;
}

std::string encode_order(const std::vector<std::pair<std::size_t, bool>>& order) {
    std::string out;
    for (const auto& [column, descending] : order) {
        if (!out.empty()) out += '.';
        if (descending) out += '-';
        out += std::to_string(column + 1);
    }
    return out;
}

std::string plural(const ModelAdmin& m, std::int64_t n) {
    return std::to_string(n) + " " + std::string(n == 1 ? m.verbose_name : m.verbose_name_plural);
}

void filters_sidebar(const View& v, Html& h, const ModelAdmin& m, const ListParams& p) {
    if (m.filters.empty()) return;
    h.raw("<nav class=\"filters\" aria-labelledby=\"filter-title\"><h2 id=\"filter-title\">Filter</h2>");
    for (const ListFilter& f : m.filters) {
        std::string key = std::string(f.field) + "__exact";
        std::string_view current;
        for (const auto& [name, value] : p.filters)
            if (name == f.field) current = value;
        h.raw("<h3>By ").text(f.title).raw("</h3><ul>");
        auto item = [&](std::string_view label, std::string_view value, bool selected) {
            h.raw(selected ? "<li class=\"selected\">" : "<li>");
            std::vector<Attr> attrs{{"href", ""}};
            std::string href = list_query(v, {{key, std::string(value)}, {"p", ""}});
            attrs[0].value = href;
            if (selected) attrs.push_back({"aria-current", "true"});
            h.open("a", attrs).text(label).raw("</a></li>");
        };
        item("All", "", current.empty());
        for (const Choice& c : f.choices) item(c.label, c.value, current == c.value);
        h.raw("</ul>");
    }
    h.raw("</nav>");
}

void search_form(const View& v, Html& h, const ModelAdmin& m, const ListParams& p, std::int64_t total,
                 std::optional<std::int64_t> full_total) {
    h.raw("<form class=\"search\" method=\"get\" role=\"search\"><label for=\"searchbar\">Search</label>");
    if (!m.search_help.empty()) {
        h.open("input", {{"type", "search"}, {"name", "q"}, {"id", "searchbar"}, {"value", p.q},
                         {"aria-describedby", "search-help"}});
        h.raw("<button type=\"submit\">Search</button>");
    }
    // The filters and the order stay as they are when searching.
    for (const auto& [key, value] : v.query)
        if (key != "q" && key != "p" && key != "e")
            h.open("input", {{"type", "hidden"}, {"name", key}, {"value", value}});
    h.raw("<span class=\"result-count\">");
    if (full_total) {
        h.number(total).raw(total == 1 ? " result (" : " results (");
        h.link("?", std::to_string(*full_total) + " total").raw(")");
    } else {
        h.text(plural(m, total));
    }
    h.raw("</span>");
    if (!m.search_help.empty()) h.raw("<p class=\"help\" id=\"search-help\">By ").text(m.search_help).raw(".</p>");
    h.raw("</form>");
}

void header_row(const View& v, Html& h, const ModelAdmin& m, const ListParams& p) {
    h.raw("<thead><tr><th scope=\"col\" class=\"action-checkbox-column\"><span class=\"visually-hidden\">Select</span></th>");
    for (std::size_t i = 0; i < m.columns.size(); ++i) {
        const Column& c = m.columns[i];
        if (c.sort_field.empty()) {
            h.raw("<th scope=\"col\">").text(c.header).raw("</th>");
            continue;
        }
        // Django's header link: this column first (its direction flipped if it already was),
        // the others after it as they were.
        std::optional<std::size_t> position;
        for (std::size_t k = 0; k < p.order.size(); ++k)
            if (p.order[k].first == i) position = k;
        bool descending = position && p.order[*position].second;
        std::vector<std::pair<std::size_t, bool>> next{{i, position == std::size_t{0} ? !descending : false}};
        for (const auto& o : p.order)
            if (o.first != i) next.push_back(o);
        std::string sort_class = position ? (descending ? "sortable sorted descending" : "sortable sorted ascending") : "sortable";
        std::vector<Attr> th{{"scope", "col"}, {"class", sort_class}};
        if (position) th.push_back({"aria-sort", descending ? "descending" : "ascending"});
        h.open("th", th);
        h.open("a", {{"href", list_query(v, {{"o", encode_order(next)}, {"p", ""}})}}).text(c.header);
        if (position) {
            h.raw(descending ? " <span aria-hidden=\"true\">▼</span>" : " <span aria-hidden=\"true\">▲</span>");
            if (p.order.size() > 1) h.raw("<span class=\"sortpriority\">").number(static_cast<std::int64_t>(*position + 1)).raw("</span>");
        }
        h.raw("</a></th>");
    }
    h.raw("</tr></thead>");
}

void result_rows(Html& h, const ModelAdmin& m, const ConsolePage& page) {
    h.raw("<tbody>");
    for (const ConsoleRow& row : page.rows) {
        Id id = row_id(row);
        std::string repr = object_repr(row);
        h.raw("<tr><td class=\"action-checkbox\">");
        h.open("input", {{"type", "checkbox"}, {"name", "_selected_action"}, {"value", std::to_string(id)},
                         {"aria-label", "Select " + repr}});
        h.raw("</td>");
        for (std::size_t i = 0; i < m.columns.size(); ++i) {
            const Column& c = m.columns[i];
            Cell value = cell(row, c.name);
            std::string css = "field-" + std::string(c.name);
            if (value.boolean >= 0) css += value.boolean ? " yes" : " no";
            // The first column links to the row's page, as Django's list_display_links.
            if (i == 0) {
                h.open("th", {{"scope", "row"}, {"class", css}, {"data-label", c.header}});
                h.link(change_url(m.model, id), value.text).raw("</th>");
                continue;
            }
            h.open("td", {{"class", css}, {"data-label", c.header}});
            if (!value.href.empty()) h.link(value.href, value.text);
            else h.text(value.text);
            h.raw("</td>");
        }
        h.raw("</tr>");
    }
    h.raw("</tbody>");
}

void paginator(const View& v, Html& h, const ModelAdmin& m, const ListParams& p, std::int64_t total) {
    page_links(v, h, p.page, total, kPerPage, plural(m, total));
}

// The confirmation of a bulk deletion, or the deletion once confirmed.
Task<http::Response> delete_selected(View& v, const ModelAdmin& m, const std::vector<Id>& ids) {
    std::string back(v.req.path);
    if (!v.req.query.empty()) back.append("?").append(v.req.query);
    services::Console& console = v.services().console;
    std::vector<ConsoleRow> rows;
    for (Id id : ids) {
        auto row = co_await console.find(v.actor(), m.model, id);
        if (row) rows.push_back(std::move(*row));
    }
    if (rows.empty())
        co_return redirect(v, back, "w:Items must be selected in order to perform actions on them. No items have been changed.");
    if (v.field("post") == "yes") {
        std::int64_t deleted = 0;
        for (const ConsoleRow& row : rows) {
            auto done = co_await console.remove(v.actor(), m.model, row_id(row));
            if (done) ++deleted;
        }
        co_return redirect(v, back, "s:Successfully deleted " + plural(m, deleted) + ".");
    }
    std::string content;
    Html h(content);
    h.raw("<p>Are you sure you want to delete the selected ").text(m.verbose_name_plural);
    h.raw("? All of the following objects and their related items will be deleted:</p><h2>Objects</h2>"
          "<ul class=\"deleted-objects\">");
    for (const ConsoleRow& row : rows) {
        h.raw("<li>").text(capfirst(m.verbose_name)).raw(": ").link(change_url(m.model, row_id(row)), object_repr(row));
        auto dependents = co_await console.dependents(v.actor(), m.model, row_id(row));
        if (dependents && !dependents->empty()) {
            h.raw("<ul>");
            for (const services::Dependents& d : *dependents)
                h.raw("<li>").text(capfirst(model_admin(d.model).verbose_name_plural)).raw(": ").number(d.total).raw("</li>");
            h.raw("</ul>");
        }
        h.raw("</li>");
    }
    h.raw("</ul><form method=\"post\">");
    csrf_field(v, h);
    for (const ConsoleRow& row : rows)
        h.open("input", {{"type", "hidden"}, {"name", "_selected_action"}, {"value", std::to_string(row_id(row))}});
    h.raw("<input type=\"hidden\" name=\"action\" value=\"delete_selected\"><input type=\"hidden\" name=\"post\" "
          "value=\"yes\"><div class=\"submit-row\"><button type=\"submit\" class=\"danger\">Yes, I’m sure</button> ");
    h.open("a", {{"class", "button cancel-link"}, {"href", back}}).raw("No, take me back</a></div></form>");
    std::vector<Crumb> crumbs = model_crumbs(m);
    crumbs.push_back({"Delete multiple objects", {}});
    co_return render(v, 200, "Are you sure?", crumbs, content, "delete-confirmation");
}

Task<http::Response> run_action(View& v, const ModelAdmin& m) {
    std::string back(v.req.path);
    if (!v.req.query.empty()) back.append("?").append(v.req.query);
    if (v.field("action") != "delete_selected") co_return redirect(v, back, "w:No action selected.");
    std::vector<Id> ids;
    for (std::string_view text : v.fields("_selected_action")) {
        std::int64_t id = 0;
        if (parse_int(text, id) && id > 0) ids.push_back(id);
    }
    if (ids.empty())
        co_return redirect(v, back, "w:Items must be selected in order to perform actions on them. No items have been changed.");
    co_return co_await delete_selected(v, m, ids);
}

}  // namespace

Task<http::Response> changelist_view(View& v, const ModelAdmin& m) {
    if (v.req.method == http::Method::post) co_return co_await run_action(v, m);
    ListParams p = read_params(v, m);
    std::string invalid_url = std::string(v.req.path) + "?e=1";
    if (p.invalid) co_return redirect(v, invalid_url);
    ConsoleQuery query;
    query.search_words = search_words(p.q);
    query.filters = p.filters;
    for (const auto& [column, descending] : p.order)
        query.order.emplace_back(std::string(m.columns[column].sort_field), descending);
    query.limit = kPerPage;
    query.offset = p.page * kPerPage;
    const bool narrowed = !query.search_words.empty() || !query.filters.empty();
    auto page = co_await v.services().console.list(v.actor(), m.model, std::move(query));
    if (!page) co_return redirect(v, invalid_url);
    // A page past the last is Django's IncorrectLookupParameters too.
    if (p.page > 0 && p.page * kPerPage >= page->total) co_return redirect(v, invalid_url);
    std::optional<std::int64_t> full_total;
    if (narrowed) {
        ConsoleQuery all;
        all.limit = 0;
        auto everything = co_await v.services().console.list(v.actor(), m.model, std::move(all));
        if (everything) full_total = everything->total;
    }

    std::string content;
    Html h(content);
    h.raw("<div class=\"object-tools\">");
    h.open("a", {{"class", "addlink button"}, {"href", admin_url(m) + "add/"}}).raw("Add ").text(m.verbose_name).raw("</a></div>");
    if (v.param("e") == "1")
        h.raw("<p class=\"errornote\">The list's parameters were not valid, so the whole list is shown.</p>");
    search_form(v, h, m, p, page->total, full_total);
    h.raw("<div class=\"changelist\">");
    filters_sidebar(v, h, m, p);
    h.raw("<form class=\"changelist-form\" method=\"post\">");
    csrf_field(v, h);
    h.raw("<div class=\"actions\"><label for=\"action\">Action</label> <select name=\"action\" id=\"action\">"
          "<option value=\"\" selected>---------</option><option value=\"delete_selected\">Delete selected ");
    h.text(m.verbose_name_plural).raw("</option></select> <button type=\"submit\" name=\"index\" value=\"0\">Go</button></div>");
    if (page->rows.empty()) {
        h.raw("<p class=\"empty\">No ").text(m.verbose_name_plural).raw(" match.</p>");
    } else {
        h.raw("<div class=\"results\"><table id=\"result_list\">");
        header_row(v, h, m, p);
        result_rows(h, m, *page);
        h.raw("</table></div>");
    }
    h.raw("</form></div>");
    paginator(v, h, m, p, page->total);
    std::vector<Crumb> crumbs = model_crumbs(m);
    crumbs.back().href.clear();
    co_return render(v, 200, "Select " + std::string(m.verbose_name) + " to change", crumbs, content, "change-list");
}

}  // namespace castera::admin
