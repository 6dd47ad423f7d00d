#include "store/postgres/writes.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "store/postgres/rows.hpp"
#include "store/sql_shared.hpp"
#include "store/store.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera::postgres {
namespace {

constexpr auto kWrites = Statement::Effect::writes;

// Django sets no database defaults: every NOT NULL column is given.
const Statement kCreateUser{"create_user",
                            "INSERT INTO users_user (password, is_superuser, email, full_name, image, role, "
                            "is_active, is_staff) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                            kWrites};
const Statement kUpdateUser{"update_user",
                            "UPDATE users_user SET email = $2, full_name = $3, image = $4, role = $5, "
                            "is_active = $6, is_staff = $7, is_superuser = $8 WHERE id = $1",
                            kWrites};
const Statement kSetPassword{"set_password", "UPDATE users_user SET password = $2 WHERE id = $1", kWrites};
const Statement kTouchLastLogin{"touch_last_login", "UPDATE users_user SET last_login = $2 WHERE id = $1", kWrites};
const Statement kCreateSession{"create_session",
                               "INSERT INTO castera_session (key_hash, user_id, expires) VALUES ($1, $2, $3) "
                               "ON CONFLICT (key_hash) DO UPDATE SET user_id = EXCLUDED.user_id, "
                               "expires = EXCLUDED.expires",
                               kWrites};
const Statement kDeleteSession{"delete_session", "DELETE FROM castera_session WHERE key_hash = $1", kWrites};
const Statement kDeleteUserSessions{"delete_user_sessions", "DELETE FROM castera_session WHERE user_id = $1", kWrites};
const Statement kCreateToken{"create_api_token",
                             "INSERT INTO castera_api_token (user_id, name, key_hash, prefix, created_at, expires_at) "
                             "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                             kWrites};
const Statement kDeleteToken{"delete_api_token", "DELETE FROM castera_api_token WHERE id = $1 AND user_id = $2",
                             kWrites};
const Statement kTouchToken{"touch_api_token", "UPDATE castera_api_token SET last_used_at = $2 WHERE id = $1",
                            kWrites};
const Statement kCreateMeeting{"create_meeting",
                               "INSERT INTO meetings_meeting (title, description, type_of, created_on, room_id, "
                               "scheduled_date, status, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                               kWrites};
// A column is written only when the change carries it: a NULL parameter keeps the old value,
// and $7 says whether the description (which may become NULL) is part of the change.
const Statement kUpdateMeeting{"update_meeting",
                               "UPDATE meetings_meeting SET title = coalesce($2, title), "
                               "description = CASE WHEN $7::boolean THEN $3::text ELSE description END, "
                               "type_of = coalesce($4, type_of), "
                               "scheduled_date = coalesce($5::timestamptz, scheduled_date), "
                               "status = coalesce($6, status), user_id = coalesce($8::bigint, user_id) "
                               "WHERE id = $1 RETURNING " +
                                   std::string(sql::kMeetingColumns),
                               kWrites};
const Statement kCreateMessage{"create_message",
                               "INSERT INTO meetings_message (content, timestamp, meeting_id, user_id) "
                               "VALUES ($1, $2, $3, $4) "
                               "RETURNING id, (SELECT email FROM users_user WHERE id = $4)",
                               kWrites};
const Statement kCreateRecording{"create_recording",
                                 "INSERT INTO meetings_recording (file_url, created_at, meeting_id, uploaded_by_id) "
                                 "VALUES ($1, $2, $3, $4) "
                                 "RETURNING id, (SELECT email FROM users_user WHERE id = $4)",
                                 kWrites};
const Statement kCreateSignal{"create_signal",
                              "INSERT INTO meetings_signal (signal_type, data, created_at, meeting_id, sender_id) "
                              "VALUES ($1, $2::jsonb, $3, $4, $5) "
                              "RETURNING id, (SELECT email FROM users_user WHERE id = $5)",
                              kWrites};

const Statement kUpdateMessage{"update_message",
                               "UPDATE meetings_message SET meeting_id = $2, user_id = $3, content = $4 WHERE id = $1",
                               kWrites};
const Statement kUpdateSignal{"update_signal",
                              "UPDATE meetings_signal SET meeting_id = $2, sender_id = $3, signal_type = $4, "
                              "data = $5::jsonb WHERE id = $1",
                              kWrites};
const Statement kUpdateRecording{"update_recording",
                                 "UPDATE meetings_recording SET meeting_id = $2, uploaded_by_id = $3, file_url = $4 "
                                 "WHERE id = $1",
                                 kWrites};
const Statement kCreateState{"create_participant_state",
                             "INSERT INTO meetings_participantstate (meeting_id, user_id, audio_muted, video_stopped, "
                             "in_call, raised_hand, screen_sharing) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                             "RETURNING id, meeting_id, user_id, (SELECT email FROM users_user WHERE id = $2), "
                             "audio_muted, video_stopped, in_call, raised_hand, screen_sharing",
                             kWrites};
const Statement kUpdateState{"update_participant_state",
                             "UPDATE meetings_participantstate SET meeting_id = $2, user_id = $3, audio_muted = $4, "
                             "video_stopped = $5, in_call = $6, raised_hand = $7, screen_sharing = $8 WHERE id = $1",
                             kWrites};

// $2, $3: the flags to set, NULL for those left as they are.
const Statement kSetRoomSettings{"set_room_settings",
                                 "INSERT INTO castera_room_settings (meeting_id, locked, lobby) "
                                 "VALUES ($1, coalesce($2::boolean, false), coalesce($3::boolean, false)) "
                                 "ON CONFLICT (meeting_id) DO UPDATE SET "
                                 "locked = coalesce($2::boolean, castera_room_settings.locked), "
                                 "lobby = coalesce($3::boolean, castera_room_settings.lobby) RETURNING locked, lobby",
                                 kWrites};
const Statement kBanFromRoom{"ban_from_room",
                             "INSERT INTO castera_room_ban (meeting_id, user_id, banned_by_id, created_at) "
                             "VALUES ($1, $2, nullif($3::bigint, 0), $4) ON CONFLICT (meeting_id, user_id) DO NOTHING",
                             kWrites};
const Statement kUnbanFromRoom{"unban_from_room", "DELETE FROM castera_room_ban WHERE meeting_id = $1 AND user_id = $2",
                               kWrites};
const Statement kAdmitToRoom{"admit_to_room",
                             "INSERT INTO castera_room_admission (meeting_id, user_id, admitted_by_id, created_at) "
                             "VALUES ($1, $2, nullif($3::bigint, 0), $4) ON CONFLICT (meeting_id, user_id) DO NOTHING",
                             kWrites};
// A webhook event into the outbox. $1 event id, $2 endpoint, $3 type, $4 meeting, $5 body (its
// head when the event is about a row created earlier in the transaction), $6 time, $7 only
// when the meeting exists. With a subject table, the row's id is that table's sequence's
// current value: $5 || id || $8 is the body, and with $9 the meeting is that id too.
const Statement& enqueue_webhook(std::string_view subject_table) {
    static const std::vector<Statement> statements = [] {
        std::vector<Statement> all;
        for (std::string_view table : {"", "meetings_meeting", "meetings_message", "meetings_recording"}) {
            std::string id = "currval(pg_get_serial_sequence('" + std::string(table) + "', 'id'))";
            std::string meeting = table.empty() ? "$4::bigint" : "CASE WHEN $9::boolean THEN " + id + " ELSE $4::bigint END";
            std::string body = table.empty() ? "$5::text" : "$5::text || " + id + "::text || $8::text";
            all.emplace_back("enqueue_webhook_" + std::string(table.empty() ? "plain" : table),
                             "INSERT INTO castera_webhook_event (event_id, endpoint, type, meeting_id, body, created_at, "
                             "next_attempt_at) SELECT $1::text, $2::text, $3::text, " + meeting + ", " + body +
                                 ", $6::timestamptz, $6::timestamptz WHERE NOT $7::boolean OR EXISTS (SELECT 1 FROM "
                                 "meetings_meeting WHERE id = $4::bigint)",
                             kWrites);
        }
        return all;
    }();
    if (subject_table.empty()) return statements[0];
    if (subject_table == "meetings_meeting") return statements[1];
    if (subject_table == "meetings_message") return statements[2];
    return statements[3];
}

// The first pending event of each endpoint and meeting, due and held by no live lease; rows
// another instance is claiming are skipped, and the outer conditions are checked again on
// the row as it is once locked. The meetings with pending events are walked through the
// queue index one after the other (a recursive step to the next meeting id), so that a scan
// costs a few index seeks per meeting, not a look at every pending event: a backlog of tens of
// thousands was read through on every scan.
const Statement kClaimWebhooks{
    "claim_webhooks",
    "UPDATE castera_webhook_event SET claimed_by = $1, claimed_until = $3 WHERE id IN ("
    "WITH RECURSIVE m(meeting_id) AS ("
    "SELECT (SELECT meeting_id FROM castera_webhook_event WHERE status = 'pending' AND endpoint = $5 "
    "ORDER BY meeting_id LIMIT 1) "
    "UNION ALL SELECT (SELECT x.meeting_id FROM castera_webhook_event x WHERE x.status = 'pending' AND "
    "x.endpoint = $5 AND x.meeting_id > m.meeting_id ORDER BY x.meeting_id LIMIT 1) FROM m WHERE m.meeting_id IS NOT NULL) "
    "SELECT h.id FROM m JOIN castera_webhook_event h ON h.id = (SELECT f.id FROM castera_webhook_event f "
    "WHERE f.status = 'pending' AND f.endpoint = $5 AND f.meeting_id = m.meeting_id ORDER BY f.id LIMIT 1) "
    "WHERE h.next_attempt_at <= $2 AND (h.claimed_until IS NULL OR h.claimed_until < $2) "
    "ORDER BY h.id LIMIT $4 FOR UPDATE OF h SKIP LOCKED) AND status = 'pending' "
    "AND (claimed_until IS NULL OR claimed_until < $2) RETURNING " + std::string(sql::kWebhookColumns),
    kWrites};
// Before claiming a meeting's events, its first pending event's row is locked (waiting for an
// instance that is claiming or finishing it), so that the claim, the next statement, takes its
// snapshot after that instance's commit. In one statement the snapshot would be older than the
// lock: the first event seen free, skipped once found claimed, and the events behind it taken
// and sent before it. Every claim of a meeting's events locks its first one, so none can
// slip in between.
const Statement kLockFirstWebhook{
    "lock_first_webhook",
    "SELECT id FROM castera_webhook_event WHERE status = 'pending' AND endpoint = $1 AND meeting_id = $2 "
    "ORDER BY id LIMIT 1 FOR UPDATE",
    kWrites};
// One endpoint's and meeting's first pending events, when the first is due and free; each row
// is checked again as it is once locked (another instance may have claimed it meanwhile).
const Statement kClaimWebhook{
    "claim_webhook",
    "UPDATE castera_webhook_event SET claimed_by = $1, claimed_until = $3 WHERE id IN ("
    "SELECT id FROM castera_webhook_event WHERE status = 'pending' AND endpoint = $5 AND meeting_id = $6 "
    "ORDER BY id LIMIT $4) AND EXISTS (SELECT 1 FROM castera_webhook_event h WHERE h.id = ("
    "SELECT id FROM castera_webhook_event WHERE status = 'pending' AND endpoint = $5 AND meeting_id = $6 "
    "ORDER BY id LIMIT 1) AND h.next_attempt_at <= $2 AND (h.claimed_until IS NULL OR h.claimed_until < $2)) "
    "AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < $2) RETURNING " +
        std::string(sql::kWebhookColumns),
    kWrites};
const Statement kFinishWebhook{
    "finish_webhook",
    "UPDATE castera_webhook_event SET status = $3::text, attempts = $4, next_attempt_at = $5, last_status = $6, "
    "last_error = $7, delivered_at = CASE WHEN $3::text = 'delivered' THEN $8::timestamptz ELSE NULL END, "
    "claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
    kWrites};
const Statement kRetryWebhook{"retry_webhook",
                              "UPDATE castera_webhook_event SET status = 'pending', attempts = 0, next_attempt_at = $2, "
                              "claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND status = 'failed'",
                              kWrites};
const Statement kPruneDelivered{"prune_delivered_webhooks",
                                "DELETE FROM castera_webhook_event WHERE status = 'delivered' AND delivered_at < $1",
                                kWrites};
const Statement kExpireWebhooks{"expire_webhooks",
                                "UPDATE castera_webhook_event SET status = 'failed', last_error = "
                                "coalesce(last_error || '; ', '') || 'expired' WHERE status = 'pending' AND "
                                "created_at < $1 AND (claimed_until IS NULL OR claimed_until < $2)",
                                kWrites};

// The table whose row a write creates, for an event about that row.
std::string_view created_table(const Write& w) {
    if (std::holds_alternative<write::CreateMeeting>(w)) return "meetings_meeting";
    if (std::holds_alternative<write::CreateMessages>(w)) return "meetings_message";
    if (std::holds_alternative<write::CreateRecording>(w)) return "meetings_recording";
    throw std::invalid_argument("a webhook event's subject must create a meeting, messages or a recording");
}

// One DELETE per model that nothing hangs off (users and meetings have their cascades).
const Statement& delete_row(AdminModel model) {
    static const std::vector<Statement> statements = [] {
        std::vector<Statement> all;
        for (const sql::ConsoleTable& t : sql::kConsoleTables)
            all.emplace_back("delete_row_" + std::string(t.model_name),
                             "DELETE FROM " + std::string(t.table) + " WHERE id = $1", kWrites);
        return all;
    }();
    if (model == AdminModel::user || model == AdminModel::meeting)
        throw std::invalid_argument("DeleteRow is for rows nothing hangs off");
    return statements.at(static_cast<std::size_t>(model));
}

// A row of the admin history: $1 action time, $2 object id, $3 repr, $4 flag, $5 message,
// $6 user. When the object is the one an earlier statement of the transaction inserted, its
// id is the table's sequence's current value (`variant` 1; 2: the repr names it too).
const Statement& log_admin_action(AdminModel model, int variant) {
    static const std::vector<Statement> statements = [] {
        std::vector<Statement> all;
        for (const sql::ConsoleTable& t : sql::kConsoleTables) {
            std::string created = "currval(pg_get_serial_sequence('" + std::string(t.table) + "', 'id'))::text";
            for (int v = 0; v < 3; ++v) {
                // Every parameter appears in every variant (PostgreSQL must know each one's type).
                std::string object_id = v == 0 ? "$2" : "coalesce(nullif($2::text, ''), " + created + ")";
                std::string repr = v == 2 ? "$3::text || ' (' || " + created + " || ')'" : "$3::text";
                all.emplace_back("log_admin_" + std::string(t.model_name) + "_" + std::to_string(v),
                                 "INSERT INTO django_admin_log (action_time, object_id, object_repr, action_flag, "
                                 "change_message, content_type_id, user_id) VALUES ($1, " +
                                     object_id + ", " + repr +
                                     ", $4, $5, (SELECT id FROM django_content_type WHERE app_label = '" +
                                     std::string(t.app_label) + "' AND model = '" + std::string(t.model_name) +
                                     "'), $6)",
                                 kWrites);
            }
        }
        return all;
    }();
    return statements.at(static_cast<std::size_t>(model) * 3 + static_cast<std::size_t>(variant));
}

// "<prefix><n> AS (DELETE FROM table WHERE column <condition>), "
void append_delete(std::string& sql, char prefix, int n, const sql::Dependent& d, std::string_view condition) {
    sql += prefix;
    sql.append(std::to_string(n)).append(" AS (DELETE FROM ").append(d.table).append(" WHERE ").append(d.column);
    sql.append(" ").append(condition).append("), ");
}

// Django's cascade for a meeting, in one statement.
Statement delete_meeting_statement() {
    std::string sql = "WITH ";
    int n = 0;
    for (const auto& d : sql::kMeetingDependents) append_delete(sql, 'd', n++, d, "= $1");
    sql.resize(sql.size() - 2);
    sql += " DELETE FROM meetings_meeting WHERE id = $1";
    return Statement{"delete_meeting", std::move(sql), kWrites};
}
const Statement kDeleteMeeting = delete_meeting_statement();

// Django's cascade for a user, in one statement: the user's meetings with everything in them,
// what the user wrote or holds elsewhere, and the rows of those of Django's tables that exist.
Statement delete_user_statement(unsigned django_tables) {
    std::string sql = "WITH owned AS (SELECT id FROM meetings_meeting WHERE user_id = $1), ";
    int n = 0;
    for (const auto& d : sql::kMeetingDependents)
        append_delete(sql, 'm', n++, d, "IN (SELECT id FROM owned)");
    sql += "meetings AS (DELETE FROM meetings_meeting WHERE user_id = $1), ";
    unsigned bit = 0;
    n = 0;
    for (const auto& d : sql::kUserDependents) {
        if (d.django_only && !(django_tables & (1u << bit++))) continue;
        append_delete(sql, 'u', n++, d, "= $1");
    }
    sql.resize(sql.size() - 2);
    sql += " DELETE FROM users_user WHERE id = $1";
    return Statement{"delete_user_" + std::to_string(django_tables), std::move(sql), kWrites};
}

constexpr unsigned kDjangoTableCount = [] {
    unsigned n = 0;
    for (const auto& d : sql::kUserDependents) n += d.django_only ? 1 : 0;
    return n;
}();

const Statement& delete_user(unsigned django_tables) {
    static const std::vector<Statement> statements = [] {
        std::vector<Statement> all;
        for (unsigned mask = 0; mask < (1u << kDjangoTableCount); ++mask) all.push_back(delete_user_statement(mask));
        return all;
    }();
    return statements.at(django_tables);
}

// Creates the state with Django's defaults and the given flags ($3... in flag order), or sets
// only the given flags on the row that exists. `given` has a bit per flag.
Statement set_flags_statement(unsigned given) {
    std::string columns, values, updates;
    int parameter = 3;
    for (std::size_t i = 0; i < sql::kFlagColumns.size(); ++i) {
        const auto& f = sql::kFlagColumns[i];
        columns.append(f.column).append(", ");
        if (given & (1u << i)) {
            values.append("$").append(std::to_string(parameter++)).append(", ");
            updates.append(f.column).append(" = EXCLUDED.").append(f.column).append(", ");
        } else {
            values.append(f.default_value ? "true, " : "false, ");
        }
    }
    // With no flag given the row is made (or kept) as it is; RETURNING needs an update.
    if (updates.empty()) updates = "meeting_id = EXCLUDED.meeting_id, ";
    updates.resize(updates.size() - 2);
    return Statement{"set_flags_" + std::to_string(given),
                     "INSERT INTO meetings_participantstate (" + columns + "meeting_id, user_id) VALUES (" + values +
                         "$1, $2) ON CONFLICT (meeting_id, user_id) DO UPDATE SET " + updates +
                         " RETURNING id, meeting_id, user_id, (SELECT email FROM users_user WHERE id = $2), "
                         "audio_muted, video_stopped, in_call, raised_hand, screen_sharing",
                     kWrites};
}

const Statement& set_flags(unsigned given) {
    static const std::vector<Statement> statements = [] {
        std::vector<Statement> all;
        for (unsigned mask = 0; mask < (1u << sql::kFlagColumns.size()); ++mask) all.push_back(set_flags_statement(mask));
        return all;
    }();
    return statements.at(given);
}

}  // namespace

bool WritePlan::needs_django_tables(const Transaction& transaction) {
    for (const Write& w : transaction.writes())
        if (std::holds_alternative<write::DeleteUser>(w)) return true;
    return false;
}

// The statement of a webhook event; `subject_table` names the table of the row it is about.
void WritePlan::add_webhook(const write::EnqueueWebhook& w, std::string_view subject_table) {
    const WebhookEvent& e = w.event;
    Params p;
    p.add(e.event_id).add(e.endpoint).add(e.type).add(e.meeting_id).add(e.body).add(e.created_at);
    p.add(w.requires_meeting);
    if (!subject_table.empty()) p.add(w.body_tail).add(w.meeting_is_subject);
    add(enqueue_webhook(subject_table), std::move(p));
}

void WritePlan::add(const Statement& statement, Params params) {
    params_.push_back(std::move(params));
    steps_.push_back(Step{&statement, &params_.back()});
    ++planned_.back().count;
}

// Times and generated values are set here, so that each write's result is known without reading it back.
WritePlan::WritePlan(Transaction& transaction, unsigned django_tables) : transaction_(transaction) {
    // A webhook event about one message of a group is written right after that message's
    // INSERT, while the sequence's current value is that message's id.
    std::vector<bool> written_early(transaction.writes().size(), false);
    auto events_about = [&](std::size_t subject, std::size_t item) {
        auto& writes = transaction.writes();
        for (std::size_t j = subject + 1; j < writes.size(); ++j) {
            auto* e = std::get_if<write::EnqueueWebhook>(&writes[j]);
            if (!e || e->subject != subject || e->item != item) continue;
            add_webhook(*e, "meetings_message");
            written_early[j] = true;
        }
    };
    for (std::size_t index = 0; index < transaction.writes().size(); ++index) {
        Write& w = transaction.writes()[index];
        planned_.push_back(Planned{steps_.size(), 0});
        std::visit(
            [&](auto& write) {
                using W = std::decay_t<decltype(write)>;
                Params p;
                if constexpr (std::is_same_v<W, write::CreateUser>) {
                    const NewUser& u = write.user;
                    p.add(u.password).add(u.is_superuser).add(u.email).add(u.full_name).add(u.image);
                    p.add(u.role).add(u.is_active).add(u.is_staff);
                    add(kCreateUser, std::move(p));
                } else if constexpr (std::is_same_v<W, write::UpdateUser>) {
                    const User& u = write.user;
                    p.add(u.id).add(u.email).add(u.full_name).add(u.image).add(u.role);
                    p.add(u.is_active).add(u.is_staff).add(u.is_superuser);
                    add(kUpdateUser, std::move(p));
                } else if constexpr (std::is_same_v<W, write::DeleteUser>) {
                    add(delete_user(django_tables), std::move(p.add(write.user)));
                } else if constexpr (std::is_same_v<W, write::SetPassword>) {
                    add(kSetPassword, std::move(p.add(write.user).add(write.hash)));
                } else if constexpr (std::is_same_v<W, write::TouchLastLogin>) {
                    add(kTouchLastLogin, std::move(p.add(write.user).add(write.when)));
                } else if constexpr (std::is_same_v<W, write::CreateSession>) {
                    const Session& s = write.session;
                    add(kCreateSession, std::move(p.add(s.key_hash).add(s.user_id).add(s.expires)));
                } else if constexpr (std::is_same_v<W, write::DeleteSession>) {
                    add(kDeleteSession, std::move(p.add(write.key_hash)));
                } else if constexpr (std::is_same_v<W, write::DeleteUserSessions>) {
                    add(kDeleteUserSessions, std::move(p.add(write.user)));
                } else if constexpr (std::is_same_v<W, write::CreateApiToken>) {
                    ApiToken& t = write.token;
                    t.created_at = now_utc();
                    p.add(t.user_id).add(t.name).add(t.key_hash).add(t.prefix).add(t.created_at).add(t.expires_at);
                    add(kCreateToken, std::move(p));
                } else if constexpr (std::is_same_v<W, write::DeleteApiToken>) {
                    add(kDeleteToken, std::move(p.add(write.token).add(write.user)));
                } else if constexpr (std::is_same_v<W, write::TouchApiToken>) {
                    add(kTouchToken, std::move(p.add(write.token).add(write.when)));
                } else if constexpr (std::is_same_v<W, write::CreateMeeting>) {
                    Meeting& m = write.meeting;
                    if (m.room_id.empty()) m.room_id = random_uuid4();
                    if (m.created_on == TimePoint{}) m.created_on = now_utc();
                    p.add(m.title).add(m.description).add(m.type_of).add(m.created_on);
                    p.add(m.room_id).add(m.scheduled_date).add(m.status).add(m.user_id);
                    add(kCreateMeeting, std::move(p));
                } else if constexpr (std::is_same_v<W, write::UpdateMeeting>) {
                    const MeetingChanges& c = write.changes;
                    p.add(write.meeting).add(c.title).add(c.description ? *c.description : std::nullopt);
                    p.add(c.type_of).add(c.scheduled_date).add(c.status).add(c.description.has_value());
                    p.add(c.user_id);
                    add(kUpdateMeeting, std::move(p));
                } else if constexpr (std::is_same_v<W, write::DeleteMeeting>) {
                    add(kDeleteMeeting, std::move(p.add(write.meeting)));
                } else if constexpr (std::is_same_v<W, write::CreateMessages>) {
                    // One INSERT per message, all in this transaction's segment.
                    TimePoint now = planned_.back().at = write.at == TimePoint{} ? now_utc() : write.at;
                    for (std::size_t i = 0; i < write.contents.size(); ++i) {
                        Params one;
                        one.add(write.contents[i]).add(now).add(write.meeting).add(write.user);
                        planned_.back().rows.push_back(steps_.size());
                        add(kCreateMessage, std::move(one));
                        events_about(index, i);
                    }
                } else if constexpr (std::is_same_v<W, write::CreateRecording>) {
                    TimePoint now = planned_.back().at = write.at == TimePoint{} ? now_utc() : write.at;
                    add(kCreateRecording, std::move(p.add(write.file_url).add(now).add(write.meeting).add(write.user)));
                } else if constexpr (std::is_same_v<W, write::SetParticipantFlags>) {
                    // The last value given for a flag wins.
                    std::array<std::optional<bool>, sql::kFlagColumns.size()> value{};
                    for (auto [flag, on] : write.flags) value[static_cast<std::size_t>(flag)] = on;
                    unsigned given = 0;
                    p.add(write.meeting).add(write.user);
                    for (std::size_t i = 0; i < value.size(); ++i) {
                        if (!value[i]) continue;
                        given |= 1u << i;
                        p.add(*value[i]);
                    }
                    add(set_flags(given), std::move(p));
                } else if constexpr (std::is_same_v<W, write::CreateSignal>) {
                    TimePoint now = planned_.back().at = now_utc();
                    p.add(write.signal_type).add(write.data_json).add(now).add(write.meeting).add(write.sender);
                    add(kCreateSignal, std::move(p));
                } else if constexpr (std::is_same_v<W, write::UpdateMessage>) {
                    p.add(write.id).add(write.meeting).add(write.user).add(write.content);
                    add(kUpdateMessage, std::move(p));
                } else if constexpr (std::is_same_v<W, write::UpdateSignal>) {
                    p.add(write.id).add(write.meeting).add(write.sender).add(write.signal_type).add(write.data_json);
                    add(kUpdateSignal, std::move(p));
                } else if constexpr (std::is_same_v<W, write::UpdateRecording>) {
                    p.add(write.id).add(write.meeting).add(write.user).add(write.file_url);
                    add(kUpdateRecording, std::move(p));
                } else if constexpr (std::is_same_v<W, write::CreateParticipantState>) {
                    const ParticipantState& s = write.state;
                    p.add(s.meeting_id).add(s.user_id).add(s.audio_muted).add(s.video_stopped).add(s.in_call);
                    p.add(s.raised_hand).add(s.screen_sharing);
                    add(kCreateState, std::move(p));
                } else if constexpr (std::is_same_v<W, write::UpdateParticipantState>) {
                    const ParticipantState& s = write.state;
                    p.add(s.id).add(s.meeting_id).add(s.user_id).add(s.audio_muted).add(s.video_stopped);
                    p.add(s.in_call).add(s.raised_hand).add(s.screen_sharing);
                    add(kUpdateState, std::move(p));
                } else if constexpr (std::is_same_v<W, write::DeleteRow>) {
                    add(delete_row(write.model), std::move(p.add(write.id)));
                } else if constexpr (std::is_same_v<W, write::SetRoomSettings>) {
                    add(kSetRoomSettings, std::move(p.add(write.meeting).add(write.locked).add(write.lobby)));
                } else if constexpr (std::is_same_v<W, write::BanFromRoom>) {
                    add(kBanFromRoom, std::move(p.add(write.meeting).add(write.user).add(write.by).add(now_utc())));
                } else if constexpr (std::is_same_v<W, write::UnbanFromRoom>) {
                    add(kUnbanFromRoom, std::move(p.add(write.meeting).add(write.user)));
                } else if constexpr (std::is_same_v<W, write::AdmitToRoom>) {
                    add(kAdmitToRoom, std::move(p.add(write.meeting).add(write.user).add(write.by).add(now_utc())));
                } else if constexpr (std::is_same_v<W, write::LogAdminAction>) {
                    const AdminLogEntry& e = write.entry;
                    int variant = !write.subject ? 0 : write.repr_names_id ? 2 : 1;
                    p.add(now_utc()).add(e.object_id).add(e.object_repr).add(std::int64_t{e.action_flag});
                    p.add(e.change_message).add(e.user_id);
                    add(log_admin_action(write.model, variant), std::move(p));
                } else if constexpr (std::is_same_v<W, write::EnqueueWebhook>) {
                    if (written_early[index]) return;
                    std::string_view table = write.subject ? created_table(transaction.writes().at(*write.subject)) : "";
                    add_webhook(write, table);
                } else if constexpr (std::is_same_v<W, write::ClaimWebhooks>) {
                    p.add(write.instance).add(write.now).add(write.until).add(write.limit);
                    p.add(write.endpoint);
                    if (write.meeting) {
                        Params first;
                        add(kLockFirstWebhook, std::move(first.add(write.endpoint).add(*write.meeting)));
                        add(kClaimWebhook, std::move(p.add(*write.meeting)));
                    } else {
                        add(kClaimWebhooks, std::move(p));
                    }
                } else if constexpr (std::is_same_v<W, write::FinishWebhook>) {
                    p.add(write.id).add(write.instance).add(write.status).add(write.attempts);
                    p.add(write.next_attempt_at).add(write.last_status).add(write.last_error).add(write.at);
                    add(kFinishWebhook, std::move(p));
                } else if constexpr (std::is_same_v<W, write::RetryWebhook>) {
                    add(kRetryWebhook, std::move(p.add(write.id).add(write.now)));
                } else if constexpr (std::is_same_v<W, write::PruneWebhooks>) {
                    add(kPruneDelivered, std::move(p.add(write.delivered_before)));
                    Params expire;
                    expire.add(write.expire_before).add(write.now);
                    add(kExpireWebhooks, std::move(expire));
                }
            },
            w);
    }
}

namespace {

// A write's result from its statements' results and what the plan set (ids come back from
// RETURNING; times were chosen by the plan).
struct Decode {
    std::vector<Result>& results;
    std::size_t first;
    TimePoint at;
    const std::vector<std::size_t>& rows;  // each message's statement (a group's events come between)

    const Result& result(std::size_t i = 0) const { return results.at(first + i); }
    bool found() const { return result().affected() > 0; }

    WriteResult operator()(write::CreateUser& w) {
        NewUser& u = w.user;
        return User{.id = result().integer(0, 0),
                    .email = std::move(u.email),
                    .password = std::move(u.password),
                    .is_superuser = u.is_superuser,
                    .full_name = std::move(u.full_name),
                    .image = std::move(u.image),
                    .role = std::move(u.role),
                    .is_active = u.is_active,
                    .is_staff = u.is_staff};
    }
    WriteResult operator()(write::UpdateUser&) { return found(); }
    WriteResult operator()(write::DeleteUser&) { return found(); }
    WriteResult operator()(write::SetPassword&) { return found(); }
    WriteResult operator()(write::TouchLastLogin&) { return std::monostate{}; }
    WriteResult operator()(write::CreateSession&) { return std::monostate{}; }
    WriteResult operator()(write::DeleteSession&) { return std::monostate{}; }
    WriteResult operator()(write::DeleteUserSessions&) { return std::monostate{}; }
    WriteResult operator()(write::CreateApiToken& w) {
        w.token.id = result().integer(0, 0);
        return std::move(w.token);
    }
    WriteResult operator()(write::DeleteApiToken&) { return found(); }
    WriteResult operator()(write::TouchApiToken&) { return std::monostate{}; }
    WriteResult operator()(write::CreateMeeting& w) {
        w.meeting.id = result().integer(0, 0);
        return std::move(w.meeting);
    }
    WriteResult operator()(write::UpdateMeeting&) {
        if (result().empty()) return std::optional<Meeting>{};
        return std::optional<Meeting>(read_meeting(result(), 0));
    }
    WriteResult operator()(write::DeleteMeeting&) { return found(); }
    WriteResult operator()(write::CreateMessages& w) {
        std::vector<Message> stored;
        stored.reserve(w.contents.size());
        for (std::size_t i = 0; i < w.contents.size(); ++i)
            stored.push_back(Message{.id = results.at(rows.at(i)).integer(0, 0),
                                     .meeting_id = w.meeting,
                                     .user_id = w.user,
                                     .user_email = results.at(rows.at(i)).optional_text(0, 1).value_or(""),
                                     .content = std::move(w.contents[i]),
                                     .timestamp = at});
        return stored;
    }
    WriteResult operator()(write::CreateRecording& w) {
        return Recording{.id = result().integer(0, 0),
                         .meeting_id = w.meeting,
                         .uploaded_by = w.user,
                         .uploaded_by_email = result().optional_text(0, 1).value_or(""),
                         .file_url = std::move(w.file_url),
                         .created_at = at};
    }
    WriteResult operator()(write::SetParticipantFlags&) {
        if (result().empty()) throw StoreUnavailable("PostgreSQL: the participant state was not written");
        return read_state(result(), 0);
    }
    WriteResult operator()(write::UpdateMessage&) { return found(); }
    WriteResult operator()(write::UpdateSignal&) { return found(); }
    WriteResult operator()(write::UpdateRecording&) { return found(); }
    WriteResult operator()(write::CreateParticipantState&) { return read_state(result(), 0); }
    WriteResult operator()(write::UpdateParticipantState&) { return found(); }
    WriteResult operator()(write::DeleteRow&) { return found(); }
    WriteResult operator()(write::LogAdminAction&) { return std::monostate{}; }
    WriteResult operator()(write::SetRoomSettings&) {
        RoomSettings out;
        if (!result().empty()) {
            out.locked = result().boolean(0, 0);
            out.lobby = result().boolean(0, 1);
        }
        return out;
    }
    WriteResult operator()(write::BanFromRoom&) { return found(); }
    WriteResult operator()(write::UnbanFromRoom&) { return found(); }
    WriteResult operator()(write::AdmitToRoom&) { return found(); }
    WriteResult operator()(write::EnqueueWebhook&) { return std::monostate{}; }
    WriteResult operator()(write::ClaimWebhooks& w) {
        // A meeting's claim comes after the lock of its first event. RETURNING gives the rows
        // in the order the UPDATE met them (on disk, or out of a hash), and a batch is sent in
        // the order it is given: oldest first, by id.
        auto claimed = read_all<WebhookEvent>(result(w.meeting ? 1 : 0), read_webhook_event);
        std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        return claimed;
    }
    WriteResult operator()(write::FinishWebhook&) { return found(); }
    WriteResult operator()(write::RetryWebhook&) { return found(); }
    WriteResult operator()(write::PruneWebhooks&) { return std::monostate{}; }
    WriteResult operator()(write::CreateSignal& w) {
        return Signal{.id = result().integer(0, 0),
                      .meeting_id = w.meeting,
                      .sender_id = w.sender,
                      .sender_email = result().optional_text(0, 1).value_or(""),
                      .signal_type = std::move(w.signal_type),
                      .data = std::move(w.data_json),
                      .created_at = at};
    }
};

}  // namespace

Committed WritePlan::results(std::vector<Result>& results) {
    std::vector<WriteResult> out;
    out.reserve(planned_.size());
    auto& writes = transaction_.writes();
    for (std::size_t i = 0; i < writes.size(); ++i) {
        WriteResult r = std::visit(Decode{results, planned_[i].first, planned_[i].at, planned_[i].rows}, writes[i]);
        out.push_back(std::move(r));
    }
    return Committed(std::move(out));
}

}  // namespace castera::postgres
