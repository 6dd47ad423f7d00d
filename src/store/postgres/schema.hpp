// The PostgreSQL schema: Django's tables exactly as its migrations make them (SPEC section 1),
// so that the old server and castera can share a database, plus castera's own tables.
#pragma once

#include <string>

namespace castera::postgres {

// Creates what is missing and records castera's schema version, in one transaction; idempotent.
// On a database Django made (users_user exists) only castera_* tables are created: Django's
// are never altered. Blocking: it runs before the event loops start (serve, the CLI).
// Throws std::runtime_error with the server's message on failure.
void migrate(const std::string& conninfo);

}  // namespace castera::postgres
