#include "store/postgres/postgres_store.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <stdexcept>

#include "store/postgres/connection.hpp"
#include "store/postgres/pool.hpp"
#include "store/postgres/rows.hpp"
#include "store/postgres/writes.hpp"
#include "store/console_sql.hpp"
#include "store/sql_shared.hpp"
#include "util/encoding.hpp"
#include "store/postgres/schema.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera::postgres {
namespace {

constexpr auto kReads = Statement::Effect::reads;
using sql::kMeetingColumns;
using sql::kUserColumns;
using sql::order_clause;

std::string select(std::string_view columns, std::string_view rest) {
    return std::string("SELECT ").append(columns).append(" ").append(rest);
}

// ---- statements

const Statement kFindUser{"find_user", select(kUserColumns, "FROM users_user WHERE id = $1"), kReads};
const Statement kFindUserByEmail{"find_user_by_email", select(kUserColumns, "FROM users_user WHERE email = $1"), kReads};
const Statement kListUsers{"list_users", select(kUserColumns, "FROM users_user ORDER BY email"), kReads};
const Statement kDjangoUserTables{"django_user_tables",
                                  "SELECT to_regclass('users_user_groups') IS NOT NULL, "
                                  "to_regclass('users_user_user_permissions') IS NOT NULL, "
                                  "to_regclass('django_admin_log') IS NOT NULL",
                                  kReads};

const Statement kFindSession{"find_session", "SELECT key_hash, user_id, expires FROM castera_session WHERE key_hash = $1",
                             kReads};
const Statement kFindSessionUser{"find_session_user",
                                 select(sql::kUserColumnsOfU,
                                        ", s.user_id, s.expires FROM castera_session s "
                                        "JOIN users_user u ON u.id = s.user_id WHERE s.key_hash = $1"),
                                 kReads};
// The meeting's columns come after the session's, NULL when there is no such meeting.
const Statement kFindSessionUserMeeting{"find_session_user_meeting",
                                        select(sql::kUserColumnsOfU, std::string(", s.user_id, s.expires, ")
                                                                         .append(sql::kMeetingColumnsOfM)
                                                                         .append(" FROM castera_session s JOIN users_user u "
                                                                                 "ON u.id = s.user_id LEFT JOIN "
                                                                                 "meetings_meeting m ON m.id = $2 "
                                                                                 "WHERE s.key_hash = $1")),
                                        kReads};

const Statement kListTokens{"list_api_tokens",
                            select(sql::kTokenColumns, std::string("FROM castera_api_token WHERE user_id = $1")
                                                           .append(sql::kTokenOrder)),
                            kReads};
const Statement kFindToken{"find_api_token", select(sql::kTokenColumns, "FROM castera_api_token WHERE key_hash = $1"),
                           kReads};

// One listing and count per status, the status written out: a partial index serves only a
// statement that names its condition.
struct WebhookListing {
    Statement rows;
    Statement count;
};
const WebhookListing& webhook_listing(std::string_view status) {
    static const std::array<WebhookListing, 4> listings = [] {
        auto make = [](std::string_view status) {
            std::string where(sql::webhook_status_condition(status));
            std::string name = status.empty() ? "all" : std::string(status);
            return WebhookListing{
                Statement{"list_webhook_events_" + name,
                          select(sql::kWebhookColumns,
                                 "FROM castera_webhook_event" + where + " ORDER BY id DESC LIMIT $1 OFFSET $2"),
                          kReads},
                Statement{"count_webhook_events_" + name, "SELECT count(*) FROM castera_webhook_event" + where,
                          kReads}};
        };
        return std::array<WebhookListing, 4>{make(""), make("pending"), make("failed"), make("delivered")};
    }();
    sql::webhook_status_condition(status);  // refuses an unknown status
    if (status == "pending") return listings[1];
    if (status == "failed") return listings[2];
    if (status == "delivered") return listings[3];
    return listings[0];
}
const Statement kWebhookBacklog{"webhook_backlog",
                                "SELECT count(*), min(created_at) FROM castera_webhook_event WHERE status = 'pending'",
                                kReads};

const Statement kFindMeeting{"find_meeting", select(kMeetingColumns, "FROM meetings_meeting WHERE id = $1"), kReads};
const Statement kFindMeetingByRoom{"find_meeting_by_room",
                                   select(kMeetingColumns, "FROM meetings_meeting WHERE room_id = $1"), kReads};
const Statement kOwnerTotals{"owner_totals",
                             "SELECT (SELECT count(*) FROM meetings_meeting WHERE user_id = $1), "
                             "(SELECT count(*) FROM meetings_recording r JOIN meetings_meeting m "
                             "ON m.id = r.meeting_id WHERE m.user_id = $1), "
                             "(SELECT count(*) FROM meetings_message x JOIN meetings_meeting m "
                             "ON m.id = x.meeting_id WHERE m.user_id = $1)",
                             kReads};

// A NULL limit is no limit in PostgreSQL.
const Statement kListMessages{"list_messages",
                              std::string(sql::kMessageSelect)
                                  .append("WHERE m.meeting_id = $1")
                                  .append(sql::kMessageOrder)
                                  .append(" LIMIT $2 OFFSET $3"),
                              kReads};
const Statement kCountMessages{"count_messages", "SELECT count(*) FROM meetings_message WHERE meeting_id = $1", kReads};
const Statement kListRecordings{"list_recordings",
                                std::string(sql::kRecordingSelect)
                                    .append("WHERE r.meeting_id = $1")
                                    .append(sql::kRecordingOrder)
                                    .append(" LIMIT $2 OFFSET $3"),
                                kReads};
const Statement kCountRecordings{"count_recordings", "SELECT count(*) FROM meetings_recording WHERE meeting_id = $1",
                                 kReads};

const Statement kFindState{"find_participant_state",
                           std::string(sql::kStateSelect) + "WHERE p.meeting_id = $1 AND p.user_id = $2", kReads};
const Statement kListStates{"list_participant_states",
                            std::string(sql::kStateSelect) + "WHERE p.meeting_id = $1 ORDER BY p.id", kReads};
const Statement kPing{"ping", "SELECT 1", kReads};

// The meeting's columns, then the controls and what they say of user $2.
const Statement kFindRoomEntry{"find_room_entry",
                               select(sql::kMeetingColumnsOfM,
                                      ", coalesce(r.locked, false), coalesce(r.lobby, false), "
                                      "EXISTS (SELECT 1 FROM castera_room_ban b WHERE b.meeting_id = m.id AND b.user_id = $2), "
                                      "EXISTS (SELECT 1 FROM castera_room_admission a WHERE a.meeting_id = m.id "
                                      "AND a.user_id = $2) FROM meetings_meeting m LEFT JOIN castera_room_settings r "
                                      "ON r.meeting_id = m.id WHERE m.room_id = $1"),
                               kReads};
// The flags (one row or none) and the banned users, in one statement: a row of kind 0 with
// the flags, rows of kind 1 with a user id.
const Statement kFindRoomSettings{"find_room_settings",
                                  "SELECT 0, locked, lobby, 0::bigint FROM castera_room_settings WHERE meeting_id = $1 "
                                  "UNION ALL SELECT 1, false, false, user_id FROM castera_room_ban WHERE meeting_id = $1",
                                  kReads};
const Statement kRoomSnapshot{"room_snapshot", sql::kRoomSnapshotPostgres, kReads};

// A meeting listing's WHERE clause and its parameters, numbered in the order they appear;
// `key` tells the filter's shape apart for the statement names.
struct MeetingFilter {
    std::string where = " WHERE true";
    std::string key;
    Params params;

    explicit MeetingFilter(const MeetingQuery& query) {
        if (query.owner) add(" AND user_id = ", *query.owner, 'o');
        if (query.scheduled_after) add(" AND scheduled_date > ", *query.scheduled_after, 'a');
        if (query.scheduled_until) add(" AND scheduled_date <= ", *query.scheduled_until, 'u');
    }

    template <typename T>
    void add(std::string_view condition, T value, char letter) {
        params.add(value);
        where.append(condition).append("$").append(std::to_string(params.size()));
        key += letter;
    }
};

Statement meeting_rows_statement(const MeetingQuery& query, const MeetingFilter& filter) {
    int limit = filter.params.size() + 1;
    return Statement{"meetings_" + filter.key + "_" + std::to_string(static_cast<int>(query.order)),
                     select(kMeetingColumns, "FROM meetings_meeting") + filter.where +
                         std::string(order_clause(query.order)) + " LIMIT $" + std::to_string(limit) + " OFFSET $" +
                         std::to_string(limit + 1),
                     kReads};
}

Statement meeting_count_statement(const MeetingFilter& filter) {
    return Statement{"count_meetings_" + filter.key, "SELECT count(*) FROM meetings_meeting" + filter.where, kReads};
}

std::size_t pool_size_from_environment() {
    const char* text = std::getenv("CASTERA_PG_POOL_SIZE");
    if (!text || !*text) return 2;
    char* end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (*end != '\0' || value < 1 || value > 64)
        throw std::invalid_argument("CASTERA_PG_POOL_SIZE must be a number from 1 to 64, not \"" + std::string(text) + "\"");
    return static_cast<std::size_t>(value);
}

// "postgresql://user@host:port/db" for logs: never the password.
std::string describe_url(const std::string& url) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
    if (!options) {
        std::string message = error ? one_line(error) : "cannot be parsed";
        PQfreemem(error);
        throw std::invalid_argument("CASTERA_DATABASE_URL: " + message);
    }
    std::string user, host, port, dbname;
    for (PQconninfoOption* o = options; o->keyword; ++o) {
        if (!o->val) continue;
        std::string_view keyword = o->keyword;
        if (keyword == "user") user = o->val;
        else if (keyword == "host") host = o->val;
        else if (keyword == "port") port = o->val;
        else if (keyword == "dbname") dbname = o->val;
    }
    PQconninfoFree(options);
    std::string out = "postgresql://";
    if (!user.empty()) out += user + "@";
    out += host;
    if (!port.empty()) out += ":" + port;
    return out + "/" + dbname;
}

class PostgresFactory final : public StoreFactory {
public:
    explicit PostgresFactory(std::string url)
        : url_(std::move(url)), description_(describe_url(url_)), pool_size_(pool_size_from_environment()) {}

    void migrate() override { postgres::migrate(url_); }
    std::unique_ptr<Store> make_store() override { return std::make_unique<PostgresStore>(url_, pool_size_); }
    std::string describe() const override { return description_; }

private:
    std::string url_;
    std::string description_;
    std::size_t pool_size_;
};

}  // namespace

std::unique_ptr<StoreFactory> make_postgres_factory(std::string url) {
    return std::make_unique<PostgresFactory>(std::move(url));
}

PostgresStore::PostgresStore(std::string conninfo, std::size_t pool_size)
    : pool_(std::make_shared<Pool>(std::move(conninfo), pool_size)) {}

PostgresStore::~PostgresStore() = default;

void PostgresStore::settle_on(const boost::asio::any_io_executor& loop) { pool_->settle_on(loop); }

Task<Result> PostgresStore::run(const Statement& statement, const Params& params) {
    InFlight counted(in_flight_);
    std::shared_ptr<Connection> connection = co_await pool_->pick();
    co_return co_await connection->run(statement, params);
}

// ---- users

Task<std::optional<User>> PostgresStore::find_user(Id id) {
    Params params;
    params.add(id);
    Result r = co_await run(kFindUser, params);
    if (r.empty()) co_return std::nullopt;
    co_return read_user(r, 0);
}

Task<std::optional<User>> PostgresStore::find_user_by_email(std::string email) {
    Params params;
    params.add(std::move(email));
    Result r = co_await run(kFindUserByEmail, params);
    if (r.empty()) co_return std::nullopt;
    co_return read_user(r, 0);
}





// One segment of its own: the writes are one transaction.
Task<Committed> PostgresStore::commit(Transaction transaction) {
    InFlight counted(in_flight_);
    unsigned django_tables = 0;
    if (WritePlan::needs_django_tables(transaction)) django_tables = co_await django_user_tables();
    WritePlan plan(transaction, django_tables);
    std::shared_ptr<Connection> connection = co_await pool_->pick();
    std::vector<Result> results = co_await connection->run_transaction(plan.steps());
    co_return plan.results(results);
}

Task<unsigned> PostgresStore::django_user_tables() {
    if (!django_user_tables_) {
        Params none;
        Result r = co_await run(kDjangoUserTables, none);
        unsigned mask = 0;
        // The columns of kDjangoUserTables are the django_only tables of kUserDependents, in order.
        for (int i = 0; i < r.columns(); ++i)
            if (r.boolean(0, i)) mask |= 1u << i;
        django_user_tables_ = mask;
    }
    co_return *django_user_tables_;
}


Task<std::vector<User>> PostgresStore::list_users() {
    Params none;
    Result r = co_await run(kListUsers, none);
    co_return read_all<User>(r, read_user);
}

// ---- sessions


Task<std::optional<Session>> PostgresStore::find_session(std::string key_hash) {
    Params params;
    params.add(std::move(key_hash));
    Result r = co_await run(kFindSession, params);
    if (r.empty()) co_return std::nullopt;
    co_return Session{r.text(0, 0), r.integer(0, 1), r.time(0, 2)};
}

Task<std::optional<SessionUser>> PostgresStore::find_session_user(std::string key_hash) {
    Params params;
    params.add(key_hash);
    Result r = co_await run(kFindSessionUser, params);
    if (r.empty()) co_return std::nullopt;
    Session session{std::move(key_hash), r.integer(0, 10), r.time(0, 11)};
    co_return SessionUser{std::move(session), read_user(r, 0)};
}

Task<SessionUserMeeting> PostgresStore::find_session_user_and_meeting(std::string key_hash, Id meeting) {
    Params params;
    params.add(key_hash).add(meeting);
    Result r = co_await run(kFindSessionUserMeeting, params);
    SessionUserMeeting out;
    if (r.empty()) co_return out;
    Session session{std::move(key_hash), r.integer(0, 10), r.time(0, 11)};
    out.found = SessionUser{std::move(session), read_user(r, 0)};
    if (!r.is_null(0, 12)) out.meeting = read_meeting_at(r, 0, 12);
    co_return out;
}



// ---- API tokens


Task<std::vector<ApiToken>> PostgresStore::list_api_tokens(Id user) {
    Params params;
    params.add(user);
    Result r = co_await run(kListTokens, params);
    co_return read_all<ApiToken>(r, read_token);
}

Task<std::optional<ApiToken>> PostgresStore::find_api_token(std::string key_hash) {
    Params params;
    params.add(std::move(key_hash));
    Result r = co_await run(kFindToken, params);
    if (r.empty()) co_return std::nullopt;
    co_return read_token(r, 0);
}



// ---- meetings

Task<std::optional<Meeting>> PostgresStore::find_meeting(Id id) {
    Params params;
    params.add(id);
    Result r = co_await run(kFindMeeting, params);
    if (r.empty()) co_return std::nullopt;
    co_return read_meeting(r, 0);
}

Task<std::optional<Meeting>> PostgresStore::find_meeting_by_room(std::string room_id) {
    // The column is a uuid: text that is not one would be an SQL error, and matches nothing.
    std::string canonical;
    if (!parse_uuid(room_id, canonical)) co_return std::nullopt;
    Params params;
    params.add(std::move(canonical));
    Result r = co_await run(kFindMeetingByRoom, params);
    if (r.empty()) co_return std::nullopt;
    co_return read_meeting(r, 0);
}

Task<Page<Meeting>> PostgresStore::list_meetings(MeetingQuery query) {
    MeetingFilter filter(query);
    Statement rows_statement = meeting_rows_statement(query, filter);
    Params rows_params = filter.params;
    rows_params.add(query.limit).add(query.offset);
    Result rows = co_await run(rows_statement, rows_params);
    Page<Meeting> page;
    page.rows = read_all<Meeting>(rows, read_meeting);
    if (query.limit) {
        Statement count_statement = meeting_count_statement(filter);
        Result count = co_await run(count_statement, filter.params);
        page.total = count.integer(0, 0);
    }
    co_return page;
}




Task<OwnerTotals> PostgresStore::owner_totals(Id owner) {
    Params params;
    params.add(owner);
    Result r = co_await run(kOwnerTotals, params);
    co_return OwnerTotals{r.integer(0, 0), r.integer(0, 1), r.integer(0, 2)};
}

// ---- messages and recordings

Task<Page<Message>> PostgresStore::list_messages(Id meeting, std::optional<std::int64_t> limit, std::int64_t offset) {
    Params params;
    params.add(meeting).add(limit).add(offset);
    Result rows = co_await run(kListMessages, params);
    Page<Message> page;
    page.rows = read_all<Message>(rows, read_message);
    if (limit) {
        Params count_params;
        count_params.add(meeting);
        Result count = co_await run(kCountMessages, count_params);
        page.total = count.integer(0, 0);
    }
    co_return page;
}


// One statement each, in order: each write is its own transaction in the pipeline anyway.

Task<Page<Recording>> PostgresStore::list_recordings(Id meeting, std::optional<std::int64_t> limit,
                                                     std::int64_t offset) {
    Params params;
    params.add(meeting).add(limit).add(offset);
    Result rows = co_await run(kListRecordings, params);
    Page<Recording> page;
    page.rows = read_all<Recording>(rows, read_recording);
    if (limit) {
        Params count_params;
        count_params.add(meeting);
        Result count = co_await run(kCountRecordings, count_params);
        page.total = count.integer(0, 0);
    }
    co_return page;
}


// ---- participant states


Task<std::optional<ParticipantState>> PostgresStore::find_participant_state(Id meeting, Id user) {
    Params params;
    params.add(meeting).add(user);
    Result r = co_await run(kFindState, params);
    if (r.empty()) co_return std::nullopt;
    co_return read_state(r, 0);
}

Task<std::vector<ParticipantState>> PostgresStore::list_participant_states(Id meeting) {
    Params params;
    params.add(meeting);
    Result r = co_await run(kListStates, params);
    co_return read_all<ParticipantState>(r, read_state);
}


// ---- meeting rooms' controls

Task<RoomEntry> PostgresStore::find_room_entry(std::string room_id, Id user) {
    RoomEntry out;
    std::string canonical;
    if (!parse_uuid(room_id, canonical)) co_return out;
    Params params;
    params.add(std::move(canonical)).add(user);
    Result r = co_await run(kFindRoomEntry, params);
    if (r.empty()) co_return out;
    out.meeting = read_meeting(r, 0);
    out.locked = r.boolean(0, 9);
    out.lobby = r.boolean(0, 10);
    out.banned = r.boolean(0, 11);
    out.admitted = r.boolean(0, 12);
    co_return out;
}

Task<RoomSettings> PostgresStore::find_room_settings(Id meeting) {
    Params params;
    params.add(meeting);
    Result r = co_await run(kFindRoomSettings, params);
    RoomSettings out;
    for (int i = 0; i < r.rows(); ++i) {
        if (r.integer(i, 0) == 0) {
            out.locked = r.boolean(i, 1);
            out.lobby = r.boolean(i, 2);
        } else {
            out.banned.push_back(r.integer(i, 3));
        }
    }
    std::sort(out.banned.begin(), out.banned.end());
    co_return out;
}

Task<RoomSnapshot> PostgresStore::room_snapshot(Id meeting, std::int64_t history) {
    Params params;
    params.add(meeting).add(std::max<std::int64_t>(history, 0));
    Result r = co_await run(kRoomSnapshot, params);
    RoomSnapshot out;
    for (int i = 0; i < r.rows(); ++i) {
        switch (r.integer(i, 0)) {
            case 0:
                out.states.push_back(ParticipantState{.id = r.integer(i, 1),
                                                      .meeting_id = r.integer(i, 2),
                                                      .user_id = r.integer(i, 3),
                                                      .user_email = r.text(i, 4),
                                                      .audio_muted = r.boolean(i, 5),
                                                      .video_stopped = r.boolean(i, 6),
                                                      .in_call = r.boolean(i, 7),
                                                      .raised_hand = r.boolean(i, 8),
                                                      .screen_sharing = r.boolean(i, 9)});
                break;
            case 1:
                out.history.push_back(Message{.id = r.integer(i, 1),
                                              .meeting_id = r.integer(i, 2),
                                              .user_id = r.integer(i, 3),
                                              .user_email = r.text(i, 4),
                                              .content = r.text(i, 10),
                                              .timestamp = r.time(i, 11)});
                break;
            default:
                out.locked = r.boolean(i, 5);
                out.lobby = r.boolean(i, 6);
        }
    }
    sql::order_snapshot(out);
    co_return out;
}

// ---- the admin console

namespace {

// A statement made for one shape of query, named after its text.
Statement shaped(std::string sql) {
    std::string name = "console_" + sha256_hex(sql).substr(0, 24);
    return Statement{std::move(name), std::move(sql), kReads};
}

ConsoleRow read_console_row(AdminModel model, const Result& r, int row) {
    switch (model) {
        case AdminModel::user: return ConsoleRow{read_user(r, row), {}};
        case AdminModel::meeting: return ConsoleRow{read_meeting(r, row), r.text(row, 9)};
        case AdminModel::message: return ConsoleRow{read_message(r, row), r.text(row, 6)};
        case AdminModel::signal: return ConsoleRow{read_signal(r, row), r.text(row, 7)};
        case AdminModel::recording: return ConsoleRow{read_recording(r, row), r.text(row, 6)};
        case AdminModel::participantstate: return ConsoleRow{read_state(r, row), r.text(row, 9)};
    }
    throw StoreUnavailable("unknown admin model");
}

}  // namespace

Task<ConsolePage> PostgresStore::list_console(AdminModel model, ConsoleQuery query) {
    sql::ConsoleSql q = sql::console_sql(sql::console_table(model), query, sql::Dialect::postgres);
    Params params;
    for (std::string& p : q.params) params.add(std::move(p));
    Params row_params = params;
    row_params.add(query.limit).add(query.offset);
    Statement rows_statement = shaped(std::move(q.rows));
    Statement count_statement = shaped(std::move(q.count));
    Result rows = co_await run(rows_statement, row_params);
    Result count = co_await run(count_statement, params);
    ConsolePage page;
    page.rows.reserve(static_cast<std::size_t>(rows.rows()));
    for (int i = 0; i < rows.rows(); ++i) page.rows.push_back(read_console_row(model, rows, i));
    page.total = count.integer(0, 0);
    co_return page;
}

Task<std::vector<AdminLogEntry>> PostgresStore::list_admin_log(AdminLogQuery query) {
    Params params;
    std::string where = "WHERE true";
    auto add = [&](std::string_view condition, std::string value) {
        params.add(std::move(value));
        where.append(condition).append("$").append(std::to_string(params.size()));
    };
    if (query.user) add(" AND l.user_id = ", std::to_string(*query.user));
    const bool one_object = query.model.has_value();
    if (one_object) {
        const sql::ConsoleTable& table = sql::console_table(*query.model);
        add(" AND ct.app_label = ", std::string(table.app_label));
        add(" AND ct.model = ", std::string(table.model_name));
        add(" AND l.object_id = ", query.object_id);
    }
    params.add(query.limit);
    Statement statement = shaped(std::string(sql::kAdminLogSelect) + where +
                                 (one_object ? " ORDER BY l.action_time, l.id" : " ORDER BY l.action_time DESC, l.id DESC") +
                                 " LIMIT $" + std::to_string(params.size()));
    Result r = co_await run(statement, params);
    co_return read_all<AdminLogEntry>(r, read_admin_log);
}

Task<Page<WebhookEvent>> PostgresStore::list_webhook_events(std::string status, std::int64_t limit,
                                                            std::int64_t offset) {
    const WebhookListing& listing = webhook_listing(status);
    Params params;
    params.add(limit).add(offset);
    Result rows = co_await run(listing.rows, params);
    Params none;
    Result count = co_await run(listing.count, none);
    Page<WebhookEvent> page;
    page.rows = read_all<WebhookEvent>(rows, read_webhook_event);
    page.total = count.integer(0, 0);
    co_return page;
}

Task<WebhookBacklog> PostgresStore::webhook_backlog() {
    Params none;
    Result r = co_await run(kWebhookBacklog, none);
    co_return WebhookBacklog{.pending = r.integer(0, 0), .oldest = r.optional_time(0, 1)};
}

Task<bool> PostgresStore::ping() {
    Params none;
    co_await run(kPing, none);
    co_return true;
}

}  // namespace castera::postgres
