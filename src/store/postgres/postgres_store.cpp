#include "store/postgres/postgres_store.hpp"

#include <libpq-fe.h>

#include <array>
#include <cstdlib>
#include <stdexcept>

#include "store/postgres/connection.hpp"
#include "store/postgres/pool.hpp"
#include "store/postgres/schema.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera::postgres {
namespace {

// ---- reading rows

constexpr std::string_view kUserColumns =
    "id, email, password, last_login, is_superuser, full_name, image, role, is_active, is_staff";
constexpr std::string_view kMeetingColumns =
    "id, title, description, type_of, created_on, room_id, scheduled_date, status, user_id";

std::string select(std::string_view columns, std::string_view rest) {
    return std::string("SELECT ").append(columns).append(" ").append(rest);
}

User read_user(const Result& r, int row) {
    return User{.id = r.integer(row, 0),
                .email = r.text(row, 1),
                .password = r.text(row, 2),
                .last_login = r.optional_time(row, 3),
                .is_superuser = r.boolean(row, 4),
                .full_name = r.optional_text(row, 5),
                .image = r.optional_text(row, 6),
                .role = r.text(row, 7),
                .is_active = r.boolean(row, 8),
                .is_staff = r.boolean(row, 9)};
}

// The meeting's columns in kMeetingColumns' order, from column `first` on.
Meeting read_meeting_at(const Result& r, int row, int first) {
    return Meeting{.id = r.integer(row, first),
                   .title = r.text(row, first + 1),
                   .description = r.optional_text(row, first + 2),
                   .type_of = r.text(row, first + 3),
                   .created_on = r.time(row, first + 4),
                   .room_id = r.text(row, first + 5),  // uuid's text form: lower case with dashes
                   .scheduled_date = r.time(row, first + 6),
                   .status = r.text(row, first + 7),
                   .user_id = r.integer(row, first + 8)};
}

Meeting read_meeting(const Result& r, int row) { return read_meeting_at(r, row, 0); }

Message read_message(const Result& r, int row) {
    return Message{.id = r.integer(row, 0),
                   .meeting_id = r.integer(row, 1),
                   .user_id = r.integer(row, 2),
                   .user_email = r.text(row, 3),
                   .content = r.text(row, 4),
                   .timestamp = r.time(row, 5)};
}

Recording read_recording(const Result& r, int row) {
    return Recording{.id = r.integer(row, 0),
                     .meeting_id = r.integer(row, 1),
                     .uploaded_by = r.integer(row, 2),
                     .uploaded_by_email = r.text(row, 3),
                     .file_url = r.text(row, 4),
                     .created_at = r.time(row, 5)};
}

ParticipantState read_state(const Result& r, int row) {
    return ParticipantState{.id = r.integer(row, 0),
                            .meeting_id = r.integer(row, 1),
                            .user_id = r.integer(row, 2),
                            .user_email = r.text(row, 3),
                            .audio_muted = r.boolean(row, 4),
                            .video_stopped = r.boolean(row, 5),
                            .in_call = r.boolean(row, 6),
                            .raised_hand = r.boolean(row, 7),
                            .screen_sharing = r.boolean(row, 8)};
}

ApiToken read_token(const Result& r, int row) {
    return ApiToken{.id = r.integer(row, 0),
                    .user_id = r.integer(row, 1),
                    .name = r.text(row, 2),
                    .key_hash = r.text(row, 3),
                    .prefix = r.text(row, 4),
                    .created_at = r.time(row, 5),
                    .expires_at = r.optional_time(row, 6),
                    .last_used_at = r.optional_time(row, 7)};
}

template <typename Row, typename Read>
std::vector<Row> read_all(const Result& r, Read read) {
    std::vector<Row> rows;
    rows.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) rows.push_back(read(r, i));
    return rows;
}

// ---- statements

const Statement kFindUser{"find_user", select(kUserColumns, "FROM users_user WHERE id = $1")};
const Statement kFindUserByEmail{"find_user_by_email", select(kUserColumns, "FROM users_user WHERE email = $1")};
// Django sets no database defaults: every NOT NULL column is given.
const Statement kCreateUser{"create_user",
                            "INSERT INTO users_user (password, is_superuser, email, full_name, image, role, "
                            "is_active, is_staff) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"};
const Statement kSetPassword{"set_password", "UPDATE users_user SET password = $2 WHERE id = $1"};
const Statement kTouchLastLogin{"touch_last_login", "UPDATE users_user SET last_login = $2 WHERE id = $1"};
const Statement kUpdateUser{"update_user",
                            "UPDATE users_user SET email = $2, full_name = $3, image = $4, role = $5, "
                            "is_active = $6, is_staff = $7, is_superuser = $8 WHERE id = $1"};
const Statement kListUsers{"list_users", select(kUserColumns, "FROM users_user ORDER BY email")};
const Statement kDjangoUserTables{"django_user_tables",
                                  "SELECT to_regclass('users_user_groups') IS NOT NULL, "
                                  "to_regclass('users_user_user_permissions') IS NOT NULL, "
                                  "to_regclass('django_admin_log') IS NOT NULL"};

// The tables of kDjangoUserTables' answer, in its order, each with its column naming the user.
constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kDjangoUserColumns{{
    {"users_user_groups", "user_id"},
    {"users_user_user_permissions", "user_id"},
    {"django_admin_log", "user_id"},
}};

// What Django's on_delete=CASCADE removes with a user, in one statement (so one transaction):
// the user's meetings with everything in them, and what the user wrote in other meetings.
Statement delete_user_statement(unsigned django_tables) {
    std::string sql =
        "WITH owned AS (SELECT id FROM meetings_meeting WHERE user_id = $1), "
        "messages AS (DELETE FROM meetings_message WHERE user_id = $1 OR meeting_id IN (SELECT id FROM owned)), "
        "signals AS (DELETE FROM meetings_signal WHERE sender_id = $1 OR meeting_id IN (SELECT id FROM owned)), "
        "recordings AS (DELETE FROM meetings_recording "
        "WHERE uploaded_by_id = $1 OR meeting_id IN (SELECT id FROM owned)), "
        "states AS (DELETE FROM meetings_participantstate "
        "WHERE user_id = $1 OR meeting_id IN (SELECT id FROM owned)), "
        "meetings AS (DELETE FROM meetings_meeting WHERE user_id = $1), "
        "sessions AS (DELETE FROM castera_session WHERE user_id = $1), "
        "tokens AS (DELETE FROM castera_api_token WHERE user_id = $1), ";
    for (std::size_t i = 0; i < kDjangoUserColumns.size(); ++i) {
        if (!(django_tables & (1u << i))) continue;
        auto [table, column] = kDjangoUserColumns[i];
        sql.append("django_").append(std::to_string(i)).append(" AS (DELETE FROM ").append(table);
        sql.append(" WHERE ").append(column).append(" = $1), ");
    }
    sql.resize(sql.size() - 2);
    sql += " DELETE FROM users_user WHERE id = $1";
    return Statement{"delete_user_" + std::to_string(django_tables), std::move(sql)};
}

const Statement kCreateSession{"create_session",
                               "INSERT INTO castera_session (key_hash, user_id, expires) VALUES ($1, $2, $3) "
                               "ON CONFLICT (key_hash) DO UPDATE SET user_id = EXCLUDED.user_id, "
                               "expires = EXCLUDED.expires"};
const Statement kFindSession{"find_session", "SELECT key_hash, user_id, expires FROM castera_session WHERE key_hash = $1"};
const Statement kFindSessionUser{"find_session_user",
                                 "SELECT u.id, u.email, u.password, u.last_login, u.is_superuser, u.full_name, "
                                 "u.image, u.role, u.is_active, u.is_staff, s.user_id, s.expires "
                                 "FROM castera_session s JOIN users_user u ON u.id = s.user_id "
                                 "WHERE s.key_hash = $1"};
// The meeting's columns come after the session's, NULL when there is no such meeting.
const Statement kFindSessionUserMeeting{"find_session_user_meeting",
                                        "SELECT u.id, u.email, u.password, u.last_login, u.is_superuser, u.full_name, "
                                        "u.image, u.role, u.is_active, u.is_staff, s.user_id, s.expires, "
                                        "m.id, m.title, m.description, m.type_of, m.created_on, m.room_id, "
                                        "m.scheduled_date, m.status, m.user_id "
                                        "FROM castera_session s JOIN users_user u ON u.id = s.user_id "
                                        "LEFT JOIN meetings_meeting m ON m.id = $2 WHERE s.key_hash = $1"};
const Statement kDeleteSession{"delete_session", "DELETE FROM castera_session WHERE key_hash = $1"};
const Statement kDeleteUserSessions{"delete_user_sessions", "DELETE FROM castera_session WHERE user_id = $1"};

constexpr std::string_view kTokenColumns = "id, user_id, name, key_hash, prefix, created_at, expires_at, last_used_at";
const Statement kCreateToken{"create_api_token",
                             "INSERT INTO castera_api_token (user_id, name, key_hash, prefix, created_at, expires_at) "
                             "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"};
const Statement kListTokens{"list_api_tokens",
                            select(kTokenColumns, "FROM castera_api_token WHERE user_id = $1 "
                                                  "ORDER BY created_at DESC, id DESC")};
const Statement kFindToken{"find_api_token", select(kTokenColumns, "FROM castera_api_token WHERE key_hash = $1")};
const Statement kDeleteToken{"delete_api_token", "DELETE FROM castera_api_token WHERE id = $1 AND user_id = $2"};
const Statement kTouchToken{"touch_api_token", "UPDATE castera_api_token SET last_used_at = $2 WHERE id = $1"};

const Statement kFindMeeting{"find_meeting", select(kMeetingColumns, "FROM meetings_meeting WHERE id = $1")};
const Statement kFindMeetingByRoom{"find_meeting_by_room",
                                   select(kMeetingColumns, "FROM meetings_meeting WHERE room_id = $1")};
const Statement kCreateMeeting{"create_meeting",
                               "INSERT INTO meetings_meeting (title, description, type_of, created_on, room_id, "
                               "scheduled_date, status, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"};
// A column is written only when the change carries it: a NULL parameter keeps the old value,
// and $7 says whether the description (which may become NULL) is part of the change.
const Statement kUpdateMeeting{"update_meeting",
                               "UPDATE meetings_meeting SET title = coalesce($2, title), "
                               "description = CASE WHEN $7::boolean THEN $3::text ELSE description END, "
                               "type_of = coalesce($4, type_of), "
                               "scheduled_date = coalesce($5::timestamptz, scheduled_date), "
                               "status = coalesce($6, status) WHERE id = $1 RETURNING " +
                                   std::string(kMeetingColumns)};
// Django's cascade for a meeting, in one statement (so one transaction).
const Statement kDeleteMeeting{"delete_meeting",
                               "WITH messages AS (DELETE FROM meetings_message WHERE meeting_id = $1), "
                               "signals AS (DELETE FROM meetings_signal WHERE meeting_id = $1), "
                               "recordings AS (DELETE FROM meetings_recording WHERE meeting_id = $1), "
                               "states AS (DELETE FROM meetings_participantstate WHERE meeting_id = $1) "
                               "DELETE FROM meetings_meeting WHERE id = $1"};
const Statement kOwnerTotals{"owner_totals",
                             "SELECT (SELECT count(*) FROM meetings_meeting WHERE user_id = $1), "
                             "(SELECT count(*) FROM meetings_recording r JOIN meetings_meeting m "
                             "ON m.id = r.meeting_id WHERE m.user_id = $1), "
                             "(SELECT count(*) FROM meetings_message x JOIN meetings_meeting m "
                             "ON m.id = x.meeting_id WHERE m.user_id = $1)"};

// A NULL limit is no limit in PostgreSQL.
const Statement kListMessages{"list_messages",
                              "SELECT m.id, m.meeting_id, m.user_id, u.email, m.content, m.timestamp "
                              "FROM meetings_message m JOIN users_user u ON u.id = m.user_id "
                              "WHERE m.meeting_id = $1 ORDER BY m.timestamp, m.id LIMIT $2 OFFSET $3"};
const Statement kCountMessages{"count_messages", "SELECT count(*) FROM meetings_message WHERE meeting_id = $1"};
const Statement kCreateMessage{"create_message",
                               "INSERT INTO meetings_message (content, timestamp, meeting_id, user_id) "
                               "VALUES ($1, $2, $3, $4) "
                               "RETURNING id, (SELECT email FROM users_user WHERE id = $4)"};
const Statement kListRecordings{"list_recordings",
                                "SELECT r.id, r.meeting_id, r.uploaded_by_id, u.email, r.file_url, r.created_at "
                                "FROM meetings_recording r JOIN users_user u ON u.id = r.uploaded_by_id "
                                "WHERE r.meeting_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT $2 OFFSET $3"};
const Statement kCountRecordings{"count_recordings", "SELECT count(*) FROM meetings_recording WHERE meeting_id = $1"};
const Statement kCreateRecording{"create_recording",
                                 "INSERT INTO meetings_recording (file_url, created_at, meeting_id, uploaded_by_id) "
                                 "VALUES ($1, $2, $3, $4) "
                                 "RETURNING id, (SELECT email FROM users_user WHERE id = $4)"};

constexpr std::string_view kStateSelect =
    "SELECT p.id, p.meeting_id, p.user_id, u.email, p.audio_muted, p.video_stopped, p.in_call, "
    "p.raised_hand, p.screen_sharing FROM meetings_participantstate p JOIN users_user u ON u.id = p.user_id ";
const Statement kFindState{"find_participant_state",
                           std::string(kStateSelect) + "WHERE p.meeting_id = $1 AND p.user_id = $2"};
const Statement kListStates{"list_participant_states", std::string(kStateSelect) + "WHERE p.meeting_id = $1 ORDER BY p.id"};

const Statement kCreateSignal{"create_signal",
                              "INSERT INTO meetings_signal (signal_type, data, created_at, meeting_id, sender_id) "
                              "VALUES ($1, $2::jsonb, $3, $4, $5) "
                              "RETURNING id, (SELECT email FROM users_user WHERE id = $5)"};
const Statement kPing{"ping", "SELECT 1"};

// The five flags with their defaults (Django's model defaults, written explicitly).
struct FlagColumn {
    ParticipantFlag flag;
    std::string_view column;
    std::string_view default_value;
};
constexpr std::array<FlagColumn, 5> kFlagColumns{{
    {ParticipantFlag::audio_muted, "audio_muted", "false"},
    {ParticipantFlag::video_stopped, "video_stopped", "false"},
    {ParticipantFlag::in_call, "in_call", "true"},
    {ParticipantFlag::raised_hand, "raised_hand", "false"},
    {ParticipantFlag::screen_sharing, "screen_sharing", "false"},
}};

// Creates the state with defaults and `flag` = $3, or sets only that flag on the existing row.
Statement set_flag_statement(ParticipantFlag flag) {
    std::string columns, values, column;
    for (const auto& entry : kFlagColumns) {
        columns.append(entry.column).append(", ");
        values.append(entry.flag == flag ? std::string_view("$3") : entry.default_value).append(", ");
        if (entry.flag == flag) column = entry.column;
    }
    return Statement{
        "set_" + column,
        "INSERT INTO meetings_participantstate (" + columns + "meeting_id, user_id) VALUES (" + values +
            "$1, $2) ON CONFLICT (meeting_id, user_id) DO UPDATE SET " + column + " = EXCLUDED." + column +
            " RETURNING id, meeting_id, user_id, (SELECT email FROM users_user WHERE id = $2), audio_muted, "
            "video_stopped, in_call, raised_hand, screen_sharing"};
}

const std::array<Statement, 5> kSetFlag{set_flag_statement(ParticipantFlag::audio_muted),
                                        set_flag_statement(ParticipantFlag::video_stopped),
                                        set_flag_statement(ParticipantFlag::in_call),
                                        set_flag_statement(ParticipantFlag::raised_hand),
                                        set_flag_statement(ParticipantFlag::screen_sharing)};

const Statement& set_flag(ParticipantFlag flag) { return kSetFlag[static_cast<std::size_t>(flag)]; }

std::string_view order_clause(MeetingQuery::Order order) {
    switch (order) {
        case MeetingQuery::Order::newest_created_first: return " ORDER BY created_on DESC, id DESC";
        case MeetingQuery::Order::soonest_scheduled_first: return " ORDER BY scheduled_date ASC, id ASC";
        case MeetingQuery::Order::latest_scheduled_first: return " ORDER BY scheduled_date DESC, id DESC";
        case MeetingQuery::Order::id_ascending: return " ORDER BY id ASC";
    }
    return "";
}

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
                         std::to_string(limit + 1)};
}

Statement meeting_count_statement(const MeetingFilter& filter) {
    return Statement{"count_meetings_" + filter.key, "SELECT count(*) FROM meetings_meeting" + filter.where};
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

Task<User> PostgresStore::create_user(NewUser user) {
    Params params;
    params.add(user.password).add(user.is_superuser).add(user.email).add(user.full_name).add(user.image);
    params.add(user.role).add(user.is_active).add(user.is_staff);
    Result r = co_await run(kCreateUser, params);
    co_return User{.id = r.integer(0, 0),
                   .email = std::move(user.email),
                   .password = std::move(user.password),
                   .is_superuser = user.is_superuser,
                   .full_name = std::move(user.full_name),
                   .image = std::move(user.image),
                   .role = std::move(user.role),
                   .is_active = user.is_active,
                   .is_staff = user.is_staff};
}

Task<bool> PostgresStore::set_password(Id user, std::string hash) {
    Params params;
    params.add(user).add(std::move(hash));
    Result r = co_await run(kSetPassword, params);
    co_return r.affected() > 0;
}

Task<void> PostgresStore::touch_last_login(Id user, TimePoint when) {
    Params params;
    params.add(user).add(when);
    co_await run(kTouchLastLogin, params);
}

Task<bool> PostgresStore::update_user(const User& user) {
    Params params;
    params.add(user.id).add(user.email).add(user.full_name).add(user.image).add(user.role);
    params.add(user.is_active).add(user.is_staff).add(user.is_superuser);
    Result r = co_await run(kUpdateUser, params);
    co_return r.affected() > 0;
}

Task<unsigned> PostgresStore::django_user_tables() {
    if (!django_user_tables_) {
        Params none;
        Result r = co_await run(kDjangoUserTables, none);
        unsigned mask = 0;
        for (int i = 0; i < static_cast<int>(kDjangoUserColumns.size()); ++i)
            if (r.boolean(0, i)) mask |= 1u << i;
        django_user_tables_ = mask;
    }
    co_return *django_user_tables_;
}

Task<bool> PostgresStore::delete_user(Id user) {
    unsigned django_tables = co_await django_user_tables();
    Statement statement = delete_user_statement(django_tables);
    Params params;
    params.add(user);
    Result r = co_await run(statement, params);
    co_return r.affected() > 0;
}

Task<std::vector<User>> PostgresStore::list_users() {
    Params none;
    Result r = co_await run(kListUsers, none);
    co_return read_all<User>(r, read_user);
}

// ---- sessions

Task<void> PostgresStore::create_session(Session session) {
    Params params;
    params.add(std::move(session.key_hash)).add(session.user_id).add(session.expires);
    co_await run(kCreateSession, params);
}

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

Task<void> PostgresStore::delete_session(std::string key_hash) {
    Params params;
    params.add(std::move(key_hash));
    co_await run(kDeleteSession, params);
}

Task<void> PostgresStore::delete_user_sessions(Id user) {
    Params params;
    params.add(user);
    co_await run(kDeleteUserSessions, params);
}

// ---- API tokens

Task<ApiToken> PostgresStore::create_api_token(ApiToken token) {
    token.created_at = now_utc();
    Params params;
    params.add(token.user_id).add(token.name).add(token.key_hash).add(token.prefix).add(token.created_at);
    params.add(token.expires_at);
    Result r = co_await run(kCreateToken, params);
    token.id = r.integer(0, 0);
    co_return token;
}

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

Task<bool> PostgresStore::delete_api_token(Id user, Id token) {
    Params params;
    params.add(token).add(user);
    Result r = co_await run(kDeleteToken, params);
    co_return r.affected() > 0;
}

Task<void> PostgresStore::touch_api_token(Id token, TimePoint when) {
    Params params;
    params.add(token).add(when);
    co_await run(kTouchToken, params);
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

Task<Meeting> PostgresStore::create_meeting(Meeting meeting) {
    meeting.room_id = random_uuid4();
    meeting.created_on = now_utc();
    Params params;
    params.add(meeting.title).add(meeting.description).add(meeting.type_of).add(meeting.created_on);
    params.add(meeting.room_id).add(meeting.scheduled_date).add(meeting.status).add(meeting.user_id);
    Result r = co_await run(kCreateMeeting, params);
    meeting.id = r.integer(0, 0);
    co_return meeting;
}

Task<std::optional<Meeting>> PostgresStore::update_meeting(Id id, MeetingChanges changes) {
    Params params;
    params.add(id).add(std::move(changes.title));
    params.add(changes.description ? *changes.description : std::nullopt);
    params.add(std::move(changes.type_of)).add(changes.scheduled_date).add(std::move(changes.status));
    params.add(changes.description.has_value());
    Result r = co_await run(kUpdateMeeting, params);
    if (r.empty()) co_return std::nullopt;
    co_return read_meeting(r, 0);
}

Task<bool> PostgresStore::delete_meeting(Id id) {
    Params params;
    params.add(id);
    Result r = co_await run(kDeleteMeeting, params);
    co_return r.affected() > 0;
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

Task<Message> PostgresStore::create_message(Id meeting, Id user, std::string content) {
    TimePoint now = now_utc();
    Params params;
    params.add(content).add(now).add(meeting).add(user);
    Result r = co_await run(kCreateMessage, params);
    co_return Message{.id = r.integer(0, 0),
                      .meeting_id = meeting,
                      .user_id = user,
                      .user_email = r.optional_text(0, 1).value_or(""),
                      .content = std::move(content),
                      .timestamp = now};
}

// One statement each, in order: each write is its own transaction in the pipeline anyway.
Task<std::vector<Message>> PostgresStore::create_messages(Id meeting, Id user, std::vector<std::string> contents) {
    std::vector<Message> stored;
    stored.reserve(contents.size());
    for (std::string& content : contents) stored.push_back(co_await create_message(meeting, user, std::move(content)));
    co_return stored;
}

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

Task<Recording> PostgresStore::create_recording(Id meeting, Id user, std::string file_url) {
    TimePoint now = now_utc();
    Params params;
    params.add(file_url).add(now).add(meeting).add(user);
    Result r = co_await run(kCreateRecording, params);
    co_return Recording{.id = r.integer(0, 0),
                        .meeting_id = meeting,
                        .uploaded_by = user,
                        .uploaded_by_email = r.optional_text(0, 1).value_or(""),
                        .file_url = std::move(file_url),
                        .created_at = now};
}

// ---- participant states

Task<ParticipantState> PostgresStore::set_participant_flag(Id meeting, Id user, ParticipantFlag flag, bool value) {
    Params params;
    params.add(meeting).add(user).add(value);
    Result r = co_await run(set_flag(flag), params);
    if (r.empty()) throw StoreUnavailable("PostgreSQL: the participant state was not written");
    co_return read_state(r, 0);
}

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

// ---- signals

Task<Signal> PostgresStore::create_signal(Id meeting, Id sender, std::string signal_type, std::string data_json) {
    TimePoint now = now_utc();
    Params params;
    params.add(signal_type).add(data_json).add(now).add(meeting).add(sender);
    Result r = co_await run(kCreateSignal, params);
    co_return Signal{.id = r.integer(0, 0),
                     .meeting_id = meeting,
                     .sender_id = sender,
                     .sender_email = r.optional_text(0, 1).value_or(""),
                     .signal_type = std::move(signal_type),
                     .data = std::move(data_json),
                     .created_at = now};
}

Task<bool> PostgresStore::ping() {
    Params none;
    co_await run(kPing, none);
    co_return true;
}

}  // namespace castera::postgres
