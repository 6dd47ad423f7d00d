// Each write of a Transaction as SQLite statements, run by the Writer on its connection inside
// the transaction's commit.
#pragma once

#include "store/sqlite/connection.hpp"
#include "store/transaction.hpp"

namespace castera::sqlite {

// Runs one write and returns its result (see WriteResult). Throws as the statements do.
// `earlier` holds the results of the transaction's writes before this one.
WriteResult apply_write(Connection& db, Write& w, const std::vector<WriteResult>& earlier);

// True for writes that may take long (a cascade over a meeting's history, a large group of
// messages): they run on the writer's thread, never on a caller's event loop.
bool is_long_write(const Write& w);

}  // namespace castera::sqlite
