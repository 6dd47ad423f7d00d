#include "store/sqlite/sqlite_store.hpp"

#include <algorithm>

#include "store/console_sql.hpp"
#include "store/sql_shared.hpp"
#include "store/sqlite/change_watch.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/writes.hpp"
#include "store/sqlite/writer.hpp"
#include "store/sqlite/schema.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera::sqlite {
namespace {

using sql::kMeetingColumns;
using sql::kUserColumns;
using sql::order_clause;

// The WHERE clause of a meeting listing; parameters ?1 owner, ?2 after, ?3 until.
std::string meeting_filter(const MeetingQuery& query) {
    std::string where = " WHERE 1";
    if (query.owner) where += " AND user_id = ?1";
    if (query.scheduled_after) where += " AND scheduled_date > ?2";
    if (query.scheduled_until) where += " AND scheduled_date <= ?3";
    return where;
}

void bind_meeting_filter(Statement& statement, const MeetingQuery& query) {
    if (query.owner) statement.bind(1, *query.owner);
    if (query.scheduled_after) statement.bind(2, format_db(*query.scheduled_after));
    if (query.scheduled_until) statement.bind(3, format_db(*query.scheduled_until));
}

// A listing with LIMIT ?8 OFFSET ?9 (-1: no limit) and, when limited, its total from `count_sql`.
template <typename Row, typename Read>
Page<Row> read_page(Connection& db, const std::string& sql, const std::string& count_sql, Id key,
                    std::optional<std::int64_t> limit, std::int64_t offset, Read read) {
    Page<Row> page;
    {
        Statement rows = db.prepare(sql);
        rows.bind(1, key).bind(8, limit.value_or(-1)).bind(9, offset);
        while (rows.step()) page.rows.push_back(read(rows));
    }
    if (limit) {
        Statement count = db.prepare(count_sql);
        count.bind(1, key);
        if (count.step()) page.total = count.column_int(0);
    }
    return page;
}

class SqliteFactory final : public StoreFactory {
public:
    explicit SqliteFactory(std::string path) : path_(std::move(path)) {}
    void migrate() override {
        Connection connection(path_);
        sqlite::migrate(connection);
    }
    // Every store of the process shares one writer. It lives as long as the stores, so the
    // last store to go (a loop shutting down) waits for the writes still queued, while the
    // loops they resume still exist.
    std::unique_ptr<Store> make_store() override {
        std::shared_ptr<Writer> writer = writer_.lock();
        if (!writer) {
            writer = std::make_shared<Writer>(path_);
            writer_ = writer;
        }
        return std::make_unique<SqliteStore>(path_, std::move(writer));
    }
    std::string describe() const override { return "sqlite:" + path_; }

private:
    std::string path_;
    std::weak_ptr<Writer> writer_;
};

}  // namespace

std::unique_ptr<StoreFactory> make_sqlite_factory(std::string path) {
    return std::make_unique<SqliteFactory>(std::move(path));
}

SqliteStore::SqliteStore(const std::string& path, std::shared_ptr<Writer> writer)
    : db_(std::make_unique<Connection>(path)),
      writer_(std::move(writer)),
      changes_(std::make_unique<ChangeWatch>(path + "-wal")) {}
SqliteStore::~SqliteStore() = default;

// ---- users

Task<std::optional<User>> SqliteStore::find_user(Id id) {
    Statement row = db_->prepare(std::string("SELECT ").append(kUserColumns).append(" FROM users_user WHERE id = ?1"));
    row.bind(1, id);
    if (!row.step()) co_return std::nullopt;
    co_return read_user(row);
}

Task<std::optional<User>> SqliteStore::find_user_by_email(std::string email) {
    Statement row =
        db_->prepare(std::string("SELECT ").append(kUserColumns).append(" FROM users_user WHERE email = ?1"));
    row.bind(1, email);
    if (!row.step()) co_return std::nullopt;
    co_return read_user(row);
}






Task<std::vector<User>> SqliteStore::list_users() {
    std::vector<User> users;
    Statement rows = db_->prepare(std::string("SELECT ").append(kUserColumns).append(" FROM users_user ORDER BY email"));
    while (rows.step()) users.push_back(read_user(rows));
    co_return users;
}

// ---- sessions


Task<std::optional<Session>> SqliteStore::find_session(std::string key_hash) {
    Statement row = db_->prepare("SELECT key_hash, user_id, expires FROM castera_session WHERE key_hash = ?1");
    row.bind(1, key_hash);
    if (!row.step()) co_return std::nullopt;
    co_return Session{row.column_text(0), row.column_int(1), read_time(row, 2)};
}

Task<std::optional<SessionUser>> SqliteStore::find_session_user(std::string key_hash) {
    Statement row = db_->prepare(
        "SELECT u.id, u.email, u.password, u.last_login, u.is_superuser, u.full_name, u.image, u.role, "
        "u.is_active, u.is_staff, s.user_id, s.expires FROM castera_session s "
        "JOIN users_user u ON u.id = s.user_id WHERE s.key_hash = ?1");
    row.bind(1, key_hash);
    if (!row.step()) co_return std::nullopt;
    User user = read_user(row);
    Session session{std::move(key_hash), row.column_int(10), read_time(row, 11)};
    co_return SessionUser{std::move(session), std::move(user)};
}

// One statement, so one read transaction: on SQLite that, not the SQL, is what a read costs.
Task<SessionUserMeeting> SqliteStore::find_session_user_and_meeting(std::string key_hash, Id meeting) {
    Statement row = db_->prepare(
        "SELECT u.id, u.email, u.password, u.last_login, u.is_superuser, u.full_name, u.image, u.role, "
        "u.is_active, u.is_staff, s.user_id, s.expires, m.id, m.title, m.description, m.type_of, m.created_on, "
        "m.room_id, m.scheduled_date, m.status, m.user_id FROM castera_session s "
        "JOIN users_user u ON u.id = s.user_id LEFT JOIN meetings_meeting m ON m.id = ?2 WHERE s.key_hash = ?1");
    row.bind(1, key_hash).bind(2, meeting);
    SessionUserMeeting out;
    if (!row.step()) co_return out;
    User user = read_user(row);
    Session session{std::move(key_hash), row.column_int(10), read_time(row, 11)};
    out.found = SessionUser{std::move(session), std::move(user)};
    if (!row.column_is_null(12)) out.meeting = read_meeting(row, 12);
    co_return out;
}

std::uint64_t SqliteStore::change_stamp() { return changes_->stamp(); }



// ---- API tokens



Task<std::vector<ApiToken>> SqliteStore::list_api_tokens(Id user) {
    std::vector<ApiToken> tokens;
    Statement rows = db_->prepare(std::string("SELECT ").append(sql::kTokenColumns).append(" FROM castera_api_token WHERE user_id = ?1").append(sql::kTokenOrder));
    rows.bind(1, user);
    while (rows.step()) tokens.push_back(read_token(rows));
    co_return tokens;
}

Task<std::optional<ApiToken>> SqliteStore::find_api_token(std::string key_hash) {
    Statement row = db_->prepare(std::string("SELECT ").append(sql::kTokenColumns).append(" FROM castera_api_token WHERE key_hash = ?1"));
    row.bind(1, key_hash);
    if (!row.step()) co_return std::nullopt;
    co_return read_token(row);
}



// ---- meetings


Task<std::optional<Meeting>> SqliteStore::find_meeting(Id id) { co_return meeting_by_id(*db_, id); }

Task<std::optional<Meeting>> SqliteStore::find_meeting_by_room(std::string room_id) {
    // Any spelling of a UUID finds its room, as on PostgreSQL (whose column is a uuid).
    std::string canonical;
    if (!parse_uuid(room_id, canonical)) co_return std::nullopt;
    Statement row = db_->prepare(
        std::string("SELECT ").append(kMeetingColumns).append(" FROM meetings_meeting WHERE room_id = ?1"));
    row.bind(1, uuid_to_db(canonical));
    if (!row.step()) co_return std::nullopt;
    co_return read_meeting(row);
}

Task<Page<Meeting>> SqliteStore::list_meetings(MeetingQuery query) {
    std::string where = meeting_filter(query);
    Page<Meeting> page;
    {
        Statement rows = db_->prepare(std::string("SELECT ")
                                          .append(kMeetingColumns)
                                          .append(" FROM meetings_meeting")
                                          .append(where)
                                          .append(order_clause(query.order))
                                          .append(" LIMIT ?8 OFFSET ?9"));
        bind_meeting_filter(rows, query);
        rows.bind(8, query.limit.value_or(-1)).bind(9, query.offset);
        while (rows.step()) page.rows.push_back(read_meeting(rows));
    }
    if (query.limit) {
        Statement count = db_->prepare("SELECT count(*) FROM meetings_meeting" + where);
        bind_meeting_filter(count, query);
        if (count.step()) page.total = count.column_int(0);
    }
    co_return page;
}




Task<OwnerTotals> SqliteStore::owner_totals(Id owner) {
    Statement row = db_->prepare(
        "SELECT (SELECT count(*) FROM meetings_meeting WHERE user_id = ?1), "
        "(SELECT count(*) FROM meetings_recording r JOIN meetings_meeting m ON m.id = r.meeting_id "
        "WHERE m.user_id = ?1), "
        "(SELECT count(*) FROM meetings_message x JOIN meetings_meeting m ON m.id = x.meeting_id "
        "WHERE m.user_id = ?1)");
    row.bind(1, owner);
    OwnerTotals totals;
    if (row.step()) totals = {row.column_int(0), row.column_int(1), row.column_int(2)};
    co_return totals;
}

// ---- messages and recordings

Task<Page<Message>> SqliteStore::list_messages(Id meeting, std::optional<std::int64_t> limit, std::int64_t offset) {
    co_return read_page<Message>(
        *db_, std::string(sql::kMessageSelect).append("WHERE m.meeting_id = ?1").append(sql::kMessageOrder).append(" LIMIT ?8 OFFSET ?9"),
        "SELECT count(*) FROM meetings_message WHERE meeting_id = ?1", meeting, limit, offset, read_message);
}




Task<Page<Recording>> SqliteStore::list_recordings(Id meeting, std::optional<std::int64_t> limit,
                                                   std::int64_t offset) {
    co_return read_page<Recording>(
        *db_,
        std::string(sql::kRecordingSelect).append("WHERE r.meeting_id = ?1").append(sql::kRecordingOrder).append(" LIMIT ?8 OFFSET ?9"),
        "SELECT count(*) FROM meetings_recording WHERE meeting_id = ?1", meeting, limit, offset, read_recording);
}


// ---- participant states



Task<std::optional<ParticipantState>> SqliteStore::find_participant_state(Id meeting, Id user) {
    co_return participant_state(*db_, meeting, user);
}

Task<std::vector<ParticipantState>> SqliteStore::list_participant_states(Id meeting) {
    std::vector<ParticipantState> states;
    Statement rows = db_->prepare(std::string(sql::kStateSelect) + "WHERE p.meeting_id = ?1 ORDER BY p.id");
    rows.bind(1, meeting);
    while (rows.step()) states.push_back(read_state(rows));
    co_return states;
}

// ---- meeting rooms' controls

Task<RoomEntry> SqliteStore::find_room_entry(std::string room_id, Id user) {
    RoomEntry out;
    std::string canonical;
    if (!parse_uuid(room_id, canonical)) co_return out;
    Statement row = db_->prepare(
        "SELECT m.id, m.title, m.description, m.type_of, m.created_on, m.room_id, m.scheduled_date, m.status, "
        "m.user_id, coalesce(r.locked, 0), coalesce(r.lobby, 0), "
        "EXISTS (SELECT 1 FROM castera_room_ban b WHERE b.meeting_id = m.id AND b.user_id = ?2), "
        "EXISTS (SELECT 1 FROM castera_room_admission a WHERE a.meeting_id = m.id AND a.user_id = ?2) "
        "FROM meetings_meeting m LEFT JOIN castera_room_settings r ON r.meeting_id = m.id WHERE m.room_id = ?1");
    row.bind(1, uuid_to_db(canonical)).bind(2, user);
    if (!row.step()) co_return out;
    out.meeting = read_meeting(row);
    out.locked = row.column_bool(9);
    out.lobby = row.column_bool(10);
    out.banned = row.column_bool(11);
    out.admitted = row.column_bool(12);
    co_return out;
}

Task<RoomSettings> SqliteStore::find_room_settings(Id meeting) {
    RoomSettings out;
    {
        Statement row = db_->prepare("SELECT locked, lobby FROM castera_room_settings WHERE meeting_id = ?1");
        row.bind(1, meeting);
        if (row.step()) {
            out.locked = row.column_bool(0);
            out.lobby = row.column_bool(1);
        }
    }
    Statement rows = db_->prepare("SELECT user_id FROM castera_room_ban WHERE meeting_id = ?1 ORDER BY user_id");
    rows.bind(1, meeting);
    while (rows.step()) out.banned.push_back(rows.column_int(0));
    co_return out;
}

// One statement, so one read transaction (on SQLite a read's cost is its transaction): the
// states (kind 0), the last chats (kind 1, newest first here) and the controls (kind 2).
Task<RoomSnapshot> SqliteStore::room_snapshot(Id meeting, std::int64_t history) {
    Statement rows = db_->prepare(sql::kRoomSnapshotSqlite);
    rows.bind(1, meeting).bind(2, history);
    RoomSnapshot out;
    while (rows.step()) {
        switch (rows.column_int(0)) {
            case 0:
                out.states.push_back(ParticipantState{.id = rows.column_int(1),
                                                      .meeting_id = rows.column_int(2),
                                                      .user_id = rows.column_int(3),
                                                      .user_email = rows.column_text(4),
                                                      .audio_muted = rows.column_bool(5),
                                                      .video_stopped = rows.column_bool(6),
                                                      .in_call = rows.column_bool(7),
                                                      .raised_hand = rows.column_bool(8),
                                                      .screen_sharing = rows.column_bool(9)});
                break;
            case 1:
                out.history.push_back(Message{.id = rows.column_int(1),
                                              .meeting_id = rows.column_int(2),
                                              .user_id = rows.column_int(3),
                                              .user_email = rows.column_text(4),
                                              .content = rows.column_text(10),
                                              .timestamp = read_time(rows, 11)});
                break;
            default:
                out.locked = rows.column_bool(5);
                out.lobby = rows.column_bool(6);
        }
    }
    sql::order_snapshot(out);
    co_return out;
}

// ---- the admin console

namespace {

ConsoleRow read_console_row(AdminModel model, const Statement& row) {
    switch (model) {
        case AdminModel::user: return ConsoleRow{read_user(row), {}};
        case AdminModel::meeting: return ConsoleRow{read_meeting(row), row.column_text(9)};
        case AdminModel::message: return ConsoleRow{read_message(row), row.column_text(6)};
        case AdminModel::signal: return ConsoleRow{read_signal(row), row.column_text(7)};
        case AdminModel::recording: return ConsoleRow{read_recording(row), row.column_text(6)};
        case AdminModel::participantstate: return ConsoleRow{read_state(row), row.column_text(9)};
    }
    throw StoreUnavailable("unknown admin model");
}

}  // namespace

Task<ConsolePage> SqliteStore::list_console(AdminModel model, ConsoleQuery query) {
    sql::ConsoleSql q = sql::console_sql(sql::console_table(model), query, sql::Dialect::sqlite);
    ConsolePage page;
    {
        Statement rows = db_->prepare(q.rows);
        int n = 0;
        for (const std::string& p : q.params) rows.bind(++n, p);
        rows.bind(n + 1, query.limit).bind(n + 2, query.offset);
        while (rows.step()) page.rows.push_back(read_console_row(model, rows));
    }
    Statement count = db_->prepare(q.count);
    int n = 0;
    for (const std::string& p : q.params) count.bind(++n, p);
    if (count.step()) page.total = count.column_int(0);
    co_return page;
}

Task<std::vector<AdminLogEntry>> SqliteStore::list_admin_log(AdminLogQuery query) {
    std::string where = "WHERE 1";
    if (query.user) where += " AND l.user_id = ?1";
    const bool one_object = query.model.has_value();
    if (one_object) where += " AND ct.app_label = ?2 AND ct.model = ?3 AND l.object_id = ?4";
    Statement rows = db_->prepare(std::string(sql::kAdminLogSelect) + where +
                                  (one_object ? " ORDER BY l.action_time, l.id" : " ORDER BY l.action_time DESC, l.id DESC") +
                                  " LIMIT ?5");
    if (query.user) rows.bind(1, *query.user);
    if (one_object) {
        const sql::ConsoleTable& table = sql::console_table(*query.model);
        rows.bind(2, table.app_label).bind(3, table.model_name).bind(4, query.object_id);
    }
    rows.bind(5, query.limit);
    std::vector<AdminLogEntry> entries;
    while (rows.step()) entries.push_back(read_admin_log(rows));
    co_return entries;
}



// One writer job: the writes share the commit and, should one fail, are undone together.
// Long work (a cascade, a burst's large group of chats) goes to the writer's thread, so that
// the caller's loop serves others meanwhile.
Task<Committed> SqliteStore::commit(Transaction transaction) {
    bool long_work = false;
    for (const Write& w : transaction.writes()) long_work = long_work || is_long_write(w);
    return counted(in_flight_, writer_->run(
        [transaction = std::move(transaction)](Connection& db) mutable {
            std::vector<WriteResult> results;
            results.reserve(transaction.writes().size());
            for (Write& w : transaction.writes()) results.push_back(apply_write(db, w, results));
            return Committed(std::move(results));
        },
        long_work ? Writer::Where::writer_thread : Writer::Where::caller_if_idle));
}

// A coroutine of its own around the writer's awaitable (commit must stay a plain function:
// see DESIGN.md, coroutine rules), so that the commit counts as in flight while it waits.
Task<Committed> SqliteStore::counted(LoopGauge* gauge, Task<Committed> commit) {
    InFlight in_flight(gauge);
    co_return co_await std::move(commit);
}

Task<Page<WebhookEvent>> SqliteStore::list_webhook_events(std::string status, std::int64_t limit,
                                                          std::int64_t offset) {
    Page<WebhookEvent> page;
    // The status is written into the SQL: a partial index serves only a query that names its
    // condition (a bound parameter could be anything).
    std::string where(sql::webhook_status_condition(status));
    Statement rows = db_->prepare(std::string("SELECT ").append(sql::kWebhookColumns)
                                      .append(" FROM castera_webhook_event").append(where)
                                      .append(" ORDER BY id DESC LIMIT ?1 OFFSET ?2"));
    rows.bind(1, limit).bind(2, offset);
    while (rows.step()) page.rows.push_back(read_webhook_event(rows));
    Statement count = db_->prepare("SELECT count(*) FROM castera_webhook_event" + where);
    if (count.step()) page.total = count.column_int(0);
    co_return page;
}

Task<WebhookBacklog> SqliteStore::webhook_backlog() {
    Statement row = db_->prepare(
        "SELECT count(*), min(created_at) FROM castera_webhook_event WHERE status = 'pending'");
    WebhookBacklog backlog;
    if (row.step()) {
        backlog.pending = row.column_int(0);
        backlog.oldest = read_optional_time(row, 1);
    }
    co_return backlog;
}

Task<bool> SqliteStore::ping() {
    db_->prepare("SELECT 1").run();
    co_return true;
}

}  // namespace castera::sqlite
