#include "store/sqlite/connection.hpp"

#include <mutex>

#include "store/store.hpp"

namespace castera::sqlite {
namespace {

// Process-wide SQLite settings, made once before the library initialises: each connection is
// used by one event loop only (no per-connection mutex needed), and the allocation statistics
// are off because they put one global mutex on every allocation of every loop.
void configure_library() {
    static std::once_flag once;
    std::call_once(once, [] {
        sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        sqlite3_initialize();
    });
}

// How long a statement waits for another connection's lock before it fails.
constexpr int kBusyTimeoutMs = 5000;

}  // namespace

void fail(sqlite3* db, int code, std::string_view what) {
    std::string message = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
    if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) throw StoreConflict(message);
    if ((code & 0xff) == SQLITE_FULL) throw StoreFull(message);
    throw StoreUnavailable(message);
}

Statement::~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
    int rc = sqlite3_bind_int64(stmt_, index, value);
    if (rc != SQLITE_OK) fail(db_, rc, "bind");
    return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
    int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) fail(db_, rc, "bind");
    return *this;
}

Statement& Statement::bind(int index, const std::optional<std::string>& value) {
    return value ? bind(index, std::string_view(*value)) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
    int rc = sqlite3_bind_null(stmt_, index);
    if (rc != SQLITE_OK) fail(db_, rc, "bind");
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, sqlite3_extended_errcode(db_), "query");
}

void Statement::run() {
    while (step()) {
    }
}

int Statement::attempt() {
    int rc;
    while ((rc = sqlite3_step(stmt_)) == SQLITE_ROW) {
    }
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

std::int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string Statement::column_text(int index) const { return std::string(column_view(index)); }

std::string_view Statement::column_view(int index) const {
    const unsigned char* text = sqlite3_column_text(stmt_, index);
    if (!text) return {};
    return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index))};
}

std::optional<std::string> Statement::column_optional_text(int index) const {
    if (column_is_null(index)) return std::nullopt;
    return column_text(index);
}

bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

Connection::Connection(const std::string& path) {
    configure_library();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = "cannot open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
        sqlite3_close(db_);
        db_ = nullptr;
        throw StoreUnavailable(message);
    }
    sqlite3_extended_result_codes(db_, 1);
    // Another writer holds the lock for at most a few milliseconds; wait rather than fail.
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    try {
        execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
    } catch (...) {
        sqlite3_close(db_);
        throw;
    }
}

void Connection::take_over_checkpoints() {
    // A WAL hook replaces the automatic checkpoint (sqlite3_wal_autocheckpoint is one).
    sqlite3_wal_hook(
        db_,
        [](void* self, sqlite3*, const char*, int pages) {
            static_cast<Connection*>(self)->wal_pages_ = pages;
            return SQLITE_OK;
        },
        this);
}

// TRUNCATE, not PASSIVE. After a PASSIVE checkpoint the next commit starts the log over at the
// top of the same file and overwrites it in place; a frame is 4,120 bytes, so each commit
// writes part of a 4 KiB block, and where the kernel has dropped that block's page since the
// last round (a virtual machine's host reclaims page cache on its own) the write first reads
// the block back from the disk, inside a commit on an event loop: 0.4-2 ms. An emptied log is
// only appended to, and a block past the end of a file needs no read.
// Without a busy timeout, so never waiting: when a reader still uses the log, or another
// process holds the write lock, this is a PASSIVE checkpoint (SQLITE_BUSY) and the log starts
// over in place, as before.
void Connection::checkpoint() {
    sqlite3_busy_timeout(db_, 0);
    int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    wal_pages_ = 0;
    if (rc == SQLITE_OK) {
        start_new_log();
    } else if ((rc & 0xff) != SQLITE_BUSY) {
        fail(db_, rc, "checkpoint");
    }
}

// The first commit into an empty log writes the log's header and waits for the disk to have
// it (an fdatasync, even with synchronous=NORMAL): made here, by the checkpoint's owner,
// rather than by the next chat on an event loop. It rewrites the database's user_version with
// its own value: one page written, nothing changed. Should another process hold the write
// lock, its commit starts the log instead.
void Connection::start_new_log() {
    auto transaction = SqlTransaction::try_begin(*this);
    if (!transaction) return;
    std::int64_t version = 0;
    {
        Statement row = prepare("PRAGMA user_version");
        if (row.step()) version = row.column_int(0);
    }
    execute(("PRAGMA user_version=" + std::to_string(version)).c_str());
    transaction->commit();
}

Connection::~Connection() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
}

Statement Connection::prepare(std::string_view sql) {
    auto found = cache_.find(std::string(sql));
    if (found != cache_.end()) return Statement(db_, found->second);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                nullptr);
    if (rc != SQLITE_OK) fail(db_, rc, "prepare");
    cache_.emplace(std::string(sql), stmt);
    return Statement(db_, stmt);
}

void Connection::execute(const char* sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
        std::string message = error ? error : sqlite3_errstr(rc);
        sqlite3_free(error);
        if (rc == SQLITE_CONSTRAINT) throw StoreConflict(message);
        if ((rc & 0xff) == SQLITE_FULL) throw StoreFull(message);
        throw StoreUnavailable(message);
    }
}

SqlTransaction::SqlTransaction(Connection& connection) : connection_(connection) {
    connection_.prepare("BEGIN IMMEDIATE").run();
}

std::optional<SqlTransaction> SqlTransaction::try_begin(Connection& connection) {
    Statement begin = connection.prepare("BEGIN IMMEDIATE");
    // Nothing between these two throws: the connection never keeps the zero timeout.
    sqlite3_busy_timeout(connection.db_, 0);
    int rc = begin.attempt();
    sqlite3_busy_timeout(connection.db_, kBusyTimeoutMs);
    if ((rc & 0xff) == SQLITE_BUSY) return std::nullopt;
    if (rc != SQLITE_OK) fail(connection.db_, rc, "begin");
    return SqlTransaction(connection, Begun{});
}

SqlTransaction::~SqlTransaction() {
    if (done_) return;
    try {
        connection_.prepare("ROLLBACK").run();
    } catch (...) {
        // The transaction is already gone (SQLite rolls back by itself on some errors).
    }
}

void SqlTransaction::commit() {
    connection_.prepare("COMMIT").run();
    done_ = true;
}

}  // namespace castera::sqlite
