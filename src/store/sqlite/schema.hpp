// The SQLite schema: Django's tables and columns (SPEC section 1) plus castera's own.
#pragma once

#include "store/sqlite/connection.hpp"

namespace castera::sqlite {

// Creates the tables that are missing and records the schema version. Idempotent.
void migrate(Connection& connection);

}  // namespace castera::sqlite
