#include "store/console_sql.hpp"

#include <charconv>

#include "util/random.hpp"
#include "util/time.hpp"
#include "util/validate.hpp"

namespace castera::sql {
namespace {

// "?N" or "$N". (Built by appending: GCC 12 warns falsely about `"?" + std::string`.)
std::string placeholder_for(Dialect dialect, std::size_t n) {
    std::string out(1, dialect == Dialect::sqlite ? '?' : '$');
    out += std::to_string(n);
    return out;
}

struct Builder {
    Dialect dialect;
    std::vector<std::string> params;

    std::string placeholder() const { return placeholder_for(dialect, params.size()); }
    std::string bind(std::string value) {
        params.push_back(std::move(value));
        return placeholder();
    }
};

bool parse_integer(std::string_view text, std::int64_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

}  // namespace

// The filter's value as its column holds it, or nothing when it cannot be one.
std::optional<std::string> stored_value(const ConsoleField& field, std::string_view value, Dialect dialect) {
    switch (field.kind) {
        case FieldKind::integer: {
            std::int64_t n = 0;
            if (!parse_integer(value, n)) return std::nullopt;
            return std::to_string(n);
        }
        case FieldKind::boolean: {
            auto b = parse_boolean(value);
            if (!b) return std::nullopt;
            if (dialect == Dialect::sqlite) return std::string(*b ? "1" : "0");
            return std::string(*b ? "true" : "false");
        }
        case FieldKind::uuid: {
            std::string canonical;
            if (!parse_uuid(value, canonical)) return std::nullopt;
            if (dialect == Dialect::postgres) return canonical;
            std::string hex;
            for (char c : canonical)
                if (c != '-') hex += c;
            return hex;
        }
        case FieldKind::time: {
            auto t = parse_iso8601(value);
            if (!t) return std::nullopt;
            return dialect == Dialect::sqlite ? format_db(*t) : format_iso8601(*t);
        }
        // Text neither database can hold (NUL, broken UTF-8) matches nothing.
        case FieldKind::text:
            if (!is_valid_utf8(value)) return std::nullopt;
            return std::string(value);
    }
    return std::nullopt;
}

namespace {

// One search word: found in any of the model's search fields.
std::string search_condition(const ConsoleTable& table, std::string_view word, Builder& b) {
    std::string any;
    for (const ConsoleField& f : table.fields) {
        if (!f.searched) continue;
        if (!any.empty()) any += " OR ";
        std::string w(word);
        // SQLite keeps a UUID as 32 hex digits: a dashed word is looked for without its dashes.
        if (f.kind == FieldKind::uuid && b.dialect == Dialect::sqlite) std::erase(w, '-');
        std::string p = b.bind(like_pattern(w));
        if (b.dialect == Dialect::sqlite) any.append(f.column).append(" LIKE ").append(p).append(" ESCAPE '\\'");
        else any.append(f.column).append(f.kind == FieldKind::uuid ? "::text" : "").append(" ILIKE ").append(p);
    }
    return any.empty() ? std::string() : "(" + any + ")";
}

// True when the column belongs to the listed table itself (its alias is the id's).
bool on_base_table(const ConsoleTable& table, std::string_view column) {
    std::string_view alias = table.id_column.substr(0, table.id_column.find('.') + 1);
    return column.starts_with(alias);
}

}  // namespace

ConsoleSql console_sql(const ConsoleTable& table, const ConsoleQuery& query, Dialect dialect) {
    Builder b{dialect, {}};
    std::string where;
    bool needs_joins = false;
    auto add = [&](const std::string& condition) { where.append(where.empty() ? " WHERE " : " AND ").append(condition); };
    for (const auto& [name, value] : query.filters) {
        const ConsoleField* f = table.field(name);
        if (!f) continue;
        needs_joins = needs_joins || !on_base_table(table, f->column);
        auto stored = stored_value(*f, value, dialect);
        if (!stored) {
            add(dialect == Dialect::sqlite ? "0" : "false");
            continue;
        }
        add(std::string(f->column) + " = " + b.bind(std::move(*stored)));
    }
    for (const std::string& word : query.search_words) {
        std::string condition = search_condition(table, word, b);
        if (condition.empty()) continue;
        needs_joins = true;
        add(condition);
    }
    std::string order;
    bool id_ordered = false;
    for (const auto& [name, descending] : query.order) {
        const ConsoleField* f = table.field(name);
        if (!f) continue;
        order.append(order.empty() ? " ORDER BY " : ", ").append(f->column).append(descending ? " DESC" : "");
        id_ordered = id_ordered || f->column == table.id_column;
    }
    if (order.empty()) order = table.default_order;
    else if (!id_ordered) order.append(", ").append(table.id_column).append(" DESC");

    ConsoleSql out;
    // A count needs the joins only for a condition on a joined table: every row has its owner
    // and meeting, so the join changes no count, and on 100,000 rows it costs milliseconds.
    std::string from = needs_joins ? std::string(table.from)
                                   : " FROM " + std::string(table.table) + " " +
                                         std::string(table.id_column.substr(0, table.id_column.find('.')));
    out.count = "SELECT count(*)" + from + where;
    out.rows = "SELECT " + std::string(table.columns) + std::string(table.from) + where + order;
    out.params = std::move(b.params);
    out.rows.append(" LIMIT ").append(placeholder_for(dialect, out.params.size() + 1));
    out.rows.append(" OFFSET ").append(placeholder_for(dialect, out.params.size() + 2));
    return out;
}

}  // namespace castera::sql

namespace castera {

bool console_filter_valid(AdminModel model, std::string_view name, std::string_view value) {
    const sql::ConsoleField* f = sql::console_table(model).field(name);
    return f && sql::stored_value(*f, value, sql::Dialect::postgres).has_value();
}

}  // namespace castera
