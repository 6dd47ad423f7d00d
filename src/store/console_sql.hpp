// The admin console's listings as SQL, built once for both backends from sql_shared.hpp's
// tables: only the placeholders, the case-insensitive LIKE and the UUID column differ. Every
// value is a parameter; names that are not the model's fields are left out, never pasted in.
#pragma once

#include <string>
#include <vector>

#include "store/sql_shared.hpp"
#include "store/store.hpp"

namespace castera::sql {

enum class Dialect { sqlite, postgres };

struct ConsoleSql {
    std::string rows;                 // ends with LIMIT and OFFSET: the last two placeholders
    std::string count;                // the same conditions, no order, no limit
    std::vector<std::string> params;  // text, in placeholder order, for both statements
};

// A filter's value as the field's column holds it on that backend; nothing when it cannot
// be one (not a number for an id, not a boolean for a flag, not a UUID for a room).
std::optional<std::string> stored_value(const ConsoleField& field, std::string_view value, Dialect dialect);

ConsoleSql console_sql(const ConsoleTable& table, const ConsoleQuery& query, Dialect dialect);

}  // namespace castera::sql
