#include "store/sqlite/sqlite_store.hpp"

#include "store/sqlite/change_watch.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/writer.hpp"
#include "store/sqlite/schema.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera::sqlite {
namespace {

constexpr std::string_view kUserColumns =
    "id, email, password, last_login, is_superuser, full_name, image, role, is_active, is_staff";
constexpr std::string_view kMeetingColumns =
    "id, title, description, type_of, created_on, room_id, scheduled_date, status, user_id";

TimePoint read_time(const Statement& row, int column) {
    auto parsed = parse_db(row.column_view(column));
    if (!parsed) throw StoreUnavailable("unreadable datetime in the database: " + row.column_text(column));
    return *parsed;
}

// Django keeps UUIDs on SQLite as 32 hex digits; the API speaks the dashed form.
std::string uuid_to_db(std::string_view canonical) {
    std::string hex;
    for (char c : canonical)
        if (c != '-') hex += c;
    return hex;
}

std::string uuid_from_db(std::string_view stored) {
    std::string canonical;
    return parse_uuid(stored, canonical) ? canonical : std::string(stored);
}

User read_user(const Statement& row) {
    User u;
    u.id = row.column_int(0);
    u.email = row.column_text(1);
    u.password = row.column_text(2);
    if (!row.column_is_null(3)) u.last_login = read_time(row, 3);
    u.is_superuser = row.column_bool(4);
    u.full_name = row.column_optional_text(5);
    u.image = row.column_optional_text(6);
    u.role = row.column_text(7);
    u.is_active = row.column_bool(8);
    u.is_staff = row.column_bool(9);
    return u;
}

// The meeting's columns in kMeetingColumns' order, from column `first` on.
Meeting read_meeting(const Statement& row, int first = 0) {
    Meeting m;
    m.id = row.column_int(first);
    m.title = row.column_text(first + 1);
    m.description = row.column_optional_text(first + 2);
    m.type_of = row.column_text(first + 3);
    m.created_on = read_time(row, first + 4);
    m.room_id = uuid_from_db(row.column_view(first + 5));
    m.scheduled_date = read_time(row, first + 6);
    m.status = row.column_text(first + 7);
    m.user_id = row.column_int(first + 8);
    return m;
}

constexpr std::string_view kMessageSelect =
    "SELECT m.id, m.meeting_id, m.user_id, u.email, m.content, m.timestamp "
    "FROM meetings_message m JOIN users_user u ON u.id = m.user_id ";

Message read_message(const Statement& row) {
    return Message{.id = row.column_int(0),
                   .meeting_id = row.column_int(1),
                   .user_id = row.column_int(2),
                   .user_email = row.column_text(3),
                   .content = row.column_text(4),
                   .timestamp = read_time(row, 5)};
}

constexpr std::string_view kRecordingSelect =
    "SELECT r.id, r.meeting_id, r.uploaded_by_id, u.email, r.file_url, r.created_at "
    "FROM meetings_recording r JOIN users_user u ON u.id = r.uploaded_by_id ";

Recording read_recording(const Statement& row) {
    return Recording{.id = row.column_int(0),
                     .meeting_id = row.column_int(1),
                     .uploaded_by = row.column_int(2),
                     .uploaded_by_email = row.column_text(3),
                     .file_url = row.column_text(4),
                     .created_at = read_time(row, 5)};
}

constexpr std::string_view kStateSelect =
    "SELECT p.id, p.meeting_id, p.user_id, u.email, p.audio_muted, p.video_stopped, p.in_call, "
    "p.raised_hand, p.screen_sharing FROM meetings_participantstate p JOIN users_user u ON u.id = p.user_id ";

ParticipantState read_state(const Statement& row) {
    return ParticipantState{.id = row.column_int(0),
                            .meeting_id = row.column_int(1),
                            .user_id = row.column_int(2),
                            .user_email = row.column_text(3),
                            .audio_muted = row.column_bool(4),
                            .video_stopped = row.column_bool(5),
                            .in_call = row.column_bool(6),
                            .raised_hand = row.column_bool(7),
                            .screen_sharing = row.column_bool(8)};
}

std::string_view flag_column(ParticipantFlag flag) {
    switch (flag) {
        case ParticipantFlag::audio_muted: return "audio_muted";
        case ParticipantFlag::video_stopped: return "video_stopped";
        case ParticipantFlag::in_call: return "in_call";
        case ParticipantFlag::raised_hand: return "raised_hand";
        case ParticipantFlag::screen_sharing: return "screen_sharing";
    }
    return "audio_muted";
}

std::string_view order_clause(MeetingQuery::Order order) {
    switch (order) {
        case MeetingQuery::Order::newest_created_first: return " ORDER BY created_on DESC, id DESC";
        case MeetingQuery::Order::soonest_scheduled_first: return " ORDER BY scheduled_date ASC, id ASC";
        case MeetingQuery::Order::latest_scheduled_first: return " ORDER BY scheduled_date DESC, id DESC";
        case MeetingQuery::Order::id_ascending: return " ORDER BY id ASC";
    }
    return "";
}

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

Task<User> SqliteStore::create_user(NewUser user) {
    return writer_->run([user = std::move(user)](Connection& db) mutable {
        db.prepare("INSERT INTO users_user (password, is_superuser, email, full_name, image, role, is_active, "
                   "is_staff) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .bind(1, user.password)
            .bind(2, user.is_superuser)
            .bind(3, user.email)
            .bind(4, user.full_name)
            .bind(5, user.image)
            .bind(6, user.role)
            .bind(7, user.is_active)
            .bind(8, user.is_staff)
            .run();
        return User{.id = db.last_insert_id(),
                    .email = std::move(user.email),
                    .password = std::move(user.password),
                    .is_superuser = user.is_superuser,
                    .full_name = std::move(user.full_name),
                    .image = std::move(user.image),
                    .role = std::move(user.role),
                    .is_active = user.is_active,
                    .is_staff = user.is_staff};
    });
}

Task<bool> SqliteStore::set_password(Id user, std::string hash) {
    return writer_->run([user, hash = std::move(hash)](Connection& db) {
        db.prepare("UPDATE users_user SET password = ?2 WHERE id = ?1").bind(1, user).bind(2, hash).run();
        return db.changes() > 0;
    });
}

Task<void> SqliteStore::touch_last_login(Id user, TimePoint when) {
    return writer_->run([user, when](Connection& db) {
        db.prepare("UPDATE users_user SET last_login = ?2 WHERE id = ?1").bind(1, user).bind(2, format_db(when)).run();
    });
}

Task<bool> SqliteStore::update_user(const User& user) {
    return writer_->run([user](Connection& db) {
        db.prepare("UPDATE users_user SET email = ?2, full_name = ?3, image = ?4, role = ?5, is_active = ?6, "
                   "is_staff = ?7, is_superuser = ?8 WHERE id = ?1")
            .bind(1, user.id)
            .bind(2, user.email)
            .bind(3, user.full_name)
            .bind(4, user.image)
            .bind(5, user.role)
            .bind(6, user.is_active)
            .bind(7, user.is_staff)
            .bind(8, user.is_superuser)
            .run();
        return db.changes() > 0;
    });
}

Task<bool> SqliteStore::delete_user(Id user) {
    // On the writer thread: the cascade may delete a long history, too long for a loop.
    return writer_->run(
        [user](Connection& db) {
            db.prepare("DELETE FROM users_user WHERE id = ?1").bind(1, user).run();
            return db.changes() > 0;
        },
        Writer::Where::writer_thread);
}

Task<std::vector<User>> SqliteStore::list_users() {
    std::vector<User> users;
    Statement rows = db_->prepare(std::string("SELECT ").append(kUserColumns).append(" FROM users_user ORDER BY email"));
    while (rows.step()) users.push_back(read_user(rows));
    co_return users;
}

// ---- sessions

Task<void> SqliteStore::create_session(Session session) {
    return writer_->run([session = std::move(session)](Connection& db) {
        db.prepare("INSERT OR REPLACE INTO castera_session (key_hash, user_id, expires) VALUES (?1, ?2, ?3)")
            .bind(1, session.key_hash)
            .bind(2, session.user_id)
            .bind(3, format_db(session.expires))
            .run();
    });
}

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

Task<void> SqliteStore::delete_session(std::string key_hash) {
    return writer_->run([key_hash = std::move(key_hash)](Connection& db) {
        db.prepare("DELETE FROM castera_session WHERE key_hash = ?1").bind(1, key_hash).run();
    });
}

Task<void> SqliteStore::delete_user_sessions(Id user) {
    return writer_->run([user](Connection& db) {
        db.prepare("DELETE FROM castera_session WHERE user_id = ?1").bind(1, user).run();
    });
}

// ---- API tokens

namespace {

constexpr std::string_view kTokenSelect =
    "SELECT id, user_id, name, key_hash, prefix, created_at, expires_at, last_used_at FROM castera_api_token ";

std::optional<TimePoint> read_optional_time(const Statement& row, int column) {
    if (row.column_is_null(column)) return std::nullopt;
    return read_time(row, column);
}

std::optional<std::string> optional_db_time(const std::optional<TimePoint>& t) {
    return t ? std::optional(format_db(*t)) : std::nullopt;
}

ApiToken read_token(const Statement& row) {
    return ApiToken{.id = row.column_int(0),
                    .user_id = row.column_int(1),
                    .name = row.column_text(2),
                    .key_hash = row.column_text(3),
                    .prefix = row.column_text(4),
                    .created_at = read_time(row, 5),
                    .expires_at = read_optional_time(row, 6),
                    .last_used_at = read_optional_time(row, 7)};
}

}  // namespace

Task<ApiToken> SqliteStore::create_api_token(ApiToken token) {
    token.created_at = now_utc();
    return writer_->run([token = std::move(token)](Connection& db) mutable {
        db.prepare("INSERT INTO castera_api_token (user_id, name, key_hash, prefix, created_at, expires_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .bind(1, token.user_id)
            .bind(2, token.name)
            .bind(3, token.key_hash)
            .bind(4, token.prefix)
            .bind(5, format_db(token.created_at))
            .bind(6, optional_db_time(token.expires_at))
            .run();
        token.id = db.last_insert_id();
        return std::move(token);
    });
}

Task<std::vector<ApiToken>> SqliteStore::list_api_tokens(Id user) {
    std::vector<ApiToken> tokens;
    Statement rows = db_->prepare(std::string(kTokenSelect) + "WHERE user_id = ?1 ORDER BY created_at DESC, id DESC");
    rows.bind(1, user);
    while (rows.step()) tokens.push_back(read_token(rows));
    co_return tokens;
}

Task<std::optional<ApiToken>> SqliteStore::find_api_token(std::string key_hash) {
    Statement row = db_->prepare(std::string(kTokenSelect) + "WHERE key_hash = ?1");
    row.bind(1, key_hash);
    if (!row.step()) co_return std::nullopt;
    co_return read_token(row);
}

Task<bool> SqliteStore::delete_api_token(Id user, Id token) {
    return writer_->run([user, token](Connection& db) {
        db.prepare("DELETE FROM castera_api_token WHERE id = ?1 AND user_id = ?2").bind(1, token).bind(2, user).run();
        return db.changes() > 0;
    });
}

Task<void> SqliteStore::touch_api_token(Id token, TimePoint when) {
    return writer_->run([token, when](Connection& db) {
        db.prepare("UPDATE castera_api_token SET last_used_at = ?2 WHERE id = ?1")
            .bind(1, token)
            .bind(2, format_db(when))
            .run();
    });
}

// ---- meetings

namespace {

std::optional<Meeting> meeting_by_id(Connection& db, Id id) {
    Statement row =
        db.prepare(std::string("SELECT ").append(kMeetingColumns).append(" FROM meetings_meeting WHERE id = ?1"));
    row.bind(1, id);
    if (!row.step()) return std::nullopt;
    return read_meeting(row);
}

}  // namespace

Task<std::optional<Meeting>> SqliteStore::find_meeting(Id id) { co_return meeting_by_id(*db_, id); }

Task<std::optional<Meeting>> SqliteStore::find_meeting_by_room(std::string room_id) {
    Statement row = db_->prepare(
        std::string("SELECT ").append(kMeetingColumns).append(" FROM meetings_meeting WHERE room_id = ?1"));
    row.bind(1, uuid_to_db(room_id));
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

Task<Meeting> SqliteStore::create_meeting(Meeting meeting) {
    meeting.room_id = random_uuid4();
    meeting.created_on = now_utc();
    return writer_->run([meeting = std::move(meeting)](Connection& db) mutable {
        db.prepare("INSERT INTO meetings_meeting (title, description, type_of, created_on, room_id, scheduled_date, "
                   "status, user_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .bind(1, meeting.title)
            .bind(2, meeting.description)
            .bind(3, meeting.type_of)
            .bind(4, format_db(meeting.created_on))
            .bind(5, uuid_to_db(meeting.room_id))
            .bind(6, format_db(meeting.scheduled_date))
            .bind(7, meeting.status)
            .bind(8, meeting.user_id)
            .run();
        meeting.id = db.last_insert_id();
        return std::move(meeting);
    });
}

Task<std::optional<Meeting>> SqliteStore::update_meeting(Id id, MeetingChanges changes) {
    return writer_->run([id, changes = std::move(changes)](Connection& db) {
        // Each column is written only when the change carries it: "?N IS NULL" keeps the old
        // value, and ?7 says whether the description (which may become NULL) is part of it.
        db.prepare("UPDATE meetings_meeting SET "
                   "title = coalesce(?2, title), "
                   "description = CASE WHEN ?7 THEN ?3 ELSE description END, "
                   "type_of = coalesce(?4, type_of), "
                   "scheduled_date = coalesce(?5, scheduled_date), "
                   "status = coalesce(?6, status) WHERE id = ?1")
            .bind(1, id)
            .bind(2, changes.title)
            .bind(3, changes.description ? *changes.description : std::nullopt)
            .bind(4, changes.type_of)
            .bind(5, changes.scheduled_date ? std::optional(format_db(*changes.scheduled_date)) : std::nullopt)
            .bind(6, changes.status)
            .bind(7, changes.description.has_value())
            .run();
        return meeting_by_id(db, id);
    });
}

Task<bool> SqliteStore::delete_meeting(Id id) {
    // On the writer thread: the cascade may delete a long history, too long for a loop.
    return writer_->run(
        [id](Connection& db) {
            db.prepare("DELETE FROM meetings_meeting WHERE id = ?1").bind(1, id).run();
            return db.changes() > 0;
        },
        Writer::Where::writer_thread);
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
        *db_, std::string(kMessageSelect) + "WHERE m.meeting_id = ?1 ORDER BY m.timestamp, m.id LIMIT ?8 OFFSET ?9",
        "SELECT count(*) FROM meetings_message WHERE meeting_id = ?1", meeting, limit, offset, read_message);
}

namespace {

std::optional<std::string> email_of(Connection& db, Id user) {
    Statement row = db.prepare("SELECT email FROM users_user WHERE id = ?1");
    row.bind(1, user);
    if (!row.step()) return std::nullopt;
    return row.column_text(0);
}

Message insert_message(Connection& db, Id meeting, Id user, std::string content, const std::string& email) {
    TimePoint now = now_utc();
    db.prepare("INSERT INTO meetings_message (content, timestamp, meeting_id, user_id) VALUES (?1, ?2, ?3, ?4)")
        .bind(1, content)
        .bind(2, format_db(now))
        .bind(3, meeting)
        .bind(4, user)
        .run();
    return Message{.id = db.last_insert_id(),
                   .meeting_id = meeting,
                   .user_id = user,
                   .user_email = email,
                   .content = std::move(content),
                   .timestamp = now};
}

}  // namespace

Task<Message> SqliteStore::create_message(Id meeting, Id user, std::string content) {
    return writer_->run([meeting, user, content = std::move(content)](Connection& db) mutable {
        return insert_message(db, meeting, user, std::move(content), email_of(db, user).value_or(""));
    });
}

// One writer job: the messages share the commit and, should one fail, are undone together. A
// burst's large group goes to the writer thread, so that its loop fans out what is already
// stored meanwhile.
Task<std::vector<Message>> SqliteStore::create_messages(Id meeting, Id user, std::vector<std::string> contents) {
    constexpr std::size_t kMostRowsOnCaller = 8;
    auto where = contents.size() <= kMostRowsOnCaller ? Writer::Where::caller_if_idle : Writer::Where::writer_thread;
    return writer_->run(
        [meeting, user, contents = std::move(contents)](Connection& db) mutable {
            std::string email = email_of(db, user).value_or("");
            std::vector<Message> stored;
            stored.reserve(contents.size());
            for (std::string& content : contents)
                stored.push_back(insert_message(db, meeting, user, std::move(content), email));
            return stored;
        },
        where);
}

Task<Page<Recording>> SqliteStore::list_recordings(Id meeting, std::optional<std::int64_t> limit,
                                                   std::int64_t offset) {
    co_return read_page<Recording>(
        *db_,
        std::string(kRecordingSelect) +
            "WHERE r.meeting_id = ?1 ORDER BY r.created_at DESC, r.id DESC LIMIT ?8 OFFSET ?9",
        "SELECT count(*) FROM meetings_recording WHERE meeting_id = ?1", meeting, limit, offset, read_recording);
}

Task<Recording> SqliteStore::create_recording(Id meeting, Id user, std::string file_url) {
    return writer_->run([meeting, user, file_url = std::move(file_url)](Connection& db) mutable {
        TimePoint now = now_utc();
        db.prepare("INSERT INTO meetings_recording (file_url, created_at, meeting_id, uploaded_by_id) "
                   "VALUES (?1, ?2, ?3, ?4)")
            .bind(1, file_url)
            .bind(2, format_db(now))
            .bind(3, meeting)
            .bind(4, user)
            .run();
        return Recording{.id = db.last_insert_id(),
                         .meeting_id = meeting,
                         .uploaded_by = user,
                         .uploaded_by_email = email_of(db, user).value_or(""),
                         .file_url = std::move(file_url),
                         .created_at = now};
    });
}

// ---- participant states

namespace {

std::optional<ParticipantState> participant_state(Connection& db, Id meeting, Id user) {
    Statement row = db.prepare(std::string(kStateSelect) + "WHERE p.meeting_id = ?1 AND p.user_id = ?2");
    row.bind(1, meeting).bind(2, user);
    if (!row.step()) return std::nullopt;
    return read_state(row);
}

}  // namespace

Task<ParticipantState> SqliteStore::set_participant_flag(Id meeting, Id user, ParticipantFlag flag, bool value) {
    return writer_->run([meeting, user, flag, value](Connection& db) {
        std::string column(flag_column(flag));
        db.prepare("INSERT INTO meetings_participantstate (meeting_id, user_id, " + column +
                   ") VALUES (?1, ?2, ?3) ON CONFLICT (meeting_id, user_id) DO UPDATE SET " + column + " = ?3")
            .bind(1, meeting)
            .bind(2, user)
            .bind(3, value)
            .run();
        auto state = participant_state(db, meeting, user);
        if (!state) throw StoreUnavailable("participant state vanished after it was written");
        return std::move(*state);
    });
}

Task<std::optional<ParticipantState>> SqliteStore::find_participant_state(Id meeting, Id user) {
    co_return participant_state(*db_, meeting, user);
}

Task<std::vector<ParticipantState>> SqliteStore::list_participant_states(Id meeting) {
    std::vector<ParticipantState> states;
    Statement rows = db_->prepare(std::string(kStateSelect) + "WHERE p.meeting_id = ?1 ORDER BY p.id");
    rows.bind(1, meeting);
    while (rows.step()) states.push_back(read_state(rows));
    co_return states;
}

// ---- signals

Task<Signal> SqliteStore::create_signal(Id meeting, Id sender, std::string signal_type, std::string data_json) {
    return writer_->run([meeting, sender, signal_type = std::move(signal_type),
                         data_json = std::move(data_json)](Connection& db) mutable {
        TimePoint now = now_utc();
        db.prepare("INSERT INTO meetings_signal (signal_type, data, created_at, meeting_id, sender_id) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)")
            .bind(1, signal_type)
            .bind(2, data_json)
            .bind(3, format_db(now))
            .bind(4, meeting)
            .bind(5, sender)
            .run();
        return Signal{.id = db.last_insert_id(),
                      .meeting_id = meeting,
                      .sender_id = sender,
                      .sender_email = email_of(db, sender).value_or(""),
                      .signal_type = std::move(signal_type),
                      .data = std::move(data_json),
                      .created_at = now};
    });
}

Task<bool> SqliteStore::ping() {
    db_->prepare("SELECT 1").run();
    co_return true;
}

}  // namespace castera::sqlite
