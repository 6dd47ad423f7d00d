// Thin RAII wrappers over the SQLite C API: a connection with a cache of prepared statements,
// and a statement that binds, steps and reads columns. Errors become StoreUnavailable (the
// database failed) or StoreConflict (a UNIQUE constraint said no).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace castera::sqlite {

class Statement {
public:
    Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    // A cached statement is reset and unbound here, ready for its next use.
    ~Statement();

    // Parameters are numbered from 1, as in SQL "?1".
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, bool value) { return bind(index, std::int64_t{value}); }
    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
    Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
    Statement& bind(int index, const std::optional<std::string>& value);
    Statement& bind_null(int index);

    // Advances to the next row; false when there is none.
    bool step();
    // Runs a statement that returns no rows.
    void run();
    // The same, answering SQLite's result code rather than throwing.
    int attempt();

    std::int64_t column_int(int index) const;
    bool column_bool(int index) const { return column_int(index) != 0; }
    std::string column_text(int index) const;
    // The text without a copy: valid until the statement steps, resets or reads the column
    // as another type.
    std::string_view column_view(int index) const;
    std::optional<std::string> column_optional_text(int index) const;
    bool column_is_null(int index) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_;
};

class Connection {
public:
    // Opens (creating if needed) the database file in WAL mode with foreign keys on.
    explicit Connection(const std::string& path);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // A prepared statement for `sql`, compiled once per connection and reused.
    Statement prepare(std::string_view sql);
    // Runs SQL text that may hold several statements and returns no rows (schema, pragmas).
    void execute(const char* sql);
    std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
    int changes() const { return sqlite3_changes(db_); }

    // Checkpoints become the owner's business: SQLite's automatic one runs inside whichever
    // commit makes the log long enough, on whatever thread made it. wal_pages() then says how
    // long the log has grown; checkpoint() copies it into the database, never waiting for a
    // reader, and when no reader still uses the log, empties the file and starts a new log
    // (connection.cpp says why).
    void take_over_checkpoints();
    int wal_pages() const { return wal_pages_; }
    void checkpoint();

private:
    friend class SqlTransaction;

    // Makes the first commit of an empty log, the one that syncs the log's header.
    void start_new_log();

    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, sqlite3_stmt*> cache_;
    int wal_pages_ = 0;
};

// Runs a group of statements as one transaction (BEGIN IMMEDIATE, so that two writers never
// deadlock upgrading a read lock); rolls back unless commit() was called.
class SqlTransaction {
public:
    explicit SqlTransaction(Connection& connection);
    // The same, unless another connection holds the database's write lock: then nothing, at
    // once, rather than waiting for it.
    static std::optional<SqlTransaction> try_begin(Connection& connection);
    SqlTransaction(const SqlTransaction&) = delete;
    SqlTransaction& operator=(const SqlTransaction&) = delete;
    ~SqlTransaction();
    void commit();

    SqlTransaction(SqlTransaction&& other) noexcept : connection_(other.connection_), done_(std::exchange(other.done_, true)) {}

private:
    struct Begun {};
    SqlTransaction(Connection& connection, Begun) : connection_(connection) {}

    Connection& connection_;
    bool done_ = false;
};

// Throws the store error that matches an SQLite result code.
[[noreturn]] void fail(sqlite3* db, int code, std::string_view what);

}  // namespace castera::sqlite
