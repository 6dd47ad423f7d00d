#include "store/sqlite/writes.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "store/sql_shared.hpp"
#include "store/sqlite/rows.hpp"
#include "store/store.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera::sqlite {
namespace {

// A group of more than this many chats is stored on the writer's thread.
constexpr std::size_t kMostRowsOnCaller = 8;

bool table_exists(Connection& db, std::string_view table) {
    Statement row = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    row.bind(1, table);
    return row.step();
}

void delete_dependents(Connection& db, const sql::Dependent& d, std::string_view key_sql, Id key) {
    if (d.django_only && !table_exists(db, d.table)) return;
    std::string sql = "DELETE FROM ";
    sql.append(d.table).append(" WHERE ").append(d.column).append(" ").append(key_sql);
    db.prepare(sql).bind(1, key).run();
}

// Django's cascade for a meeting: its rows first, then the meeting.
bool delete_meeting(Connection& db, Id meeting) {
    for (const auto& d : sql::kMeetingDependents) delete_dependents(db, d, "= ?1", meeting);
    db.prepare("DELETE FROM meetings_meeting WHERE id = ?1").bind(1, meeting).run();
    return db.changes() > 0;
}

// Django's cascade for a user: the user's meetings with their rows, what the user wrote or
// holds elsewhere, then the user.
bool delete_user(Connection& db, Id user) {
    constexpr std::string_view owned = "IN (SELECT id FROM meetings_meeting WHERE user_id = ?1)";
    for (const auto& d : sql::kMeetingDependents) delete_dependents(db, d, owned, user);
    db.prepare("DELETE FROM meetings_meeting WHERE user_id = ?1").bind(1, user).run();
    for (const auto& d : sql::kUserDependents) delete_dependents(db, d, "= ?1", user);
    db.prepare("DELETE FROM users_user WHERE id = ?1").bind(1, user).run();
    return db.changes() > 0;
}

Message insert_message(Connection& db, Id meeting, Id user, std::string content, const std::string& email,
                       TimePoint at) {
    TimePoint now = at == TimePoint{} ? now_utc() : at;
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

// Creates the state with Django's defaults and the given flags, or sets only those flags.
ParticipantState set_flags(Connection& db, const write::SetParticipantFlags& w) {
    std::string columns = "meeting_id, user_id", values = "?1, ?2", updates;
    bool value[sql::kFlagColumns.size()] = {};
    bool given[sql::kFlagColumns.size()] = {};
    for (auto [flag, on] : w.flags) {
        value[static_cast<std::size_t>(flag)] = on;
        given[static_cast<std::size_t>(flag)] = true;
    }
    for (std::size_t i = 0; i < sql::kFlagColumns.size(); ++i) {
        std::string_view column = sql::kFlagColumns[i].column;
        bool v = given[i] ? value[i] : sql::kFlagColumns[i].default_value;
        columns.append(", ").append(column);
        values.append(v ? ", 1" : ", 0");
        if (!given[i]) continue;
        if (!updates.empty()) updates += ", ";
        updates.append(column).append(v ? " = 1" : " = 0");
    }
    std::string statement = "INSERT INTO meetings_participantstate (" + columns + ") VALUES (" + values + ")";
    statement += updates.empty() ? " ON CONFLICT (meeting_id, user_id) DO NOTHING"
                                 : " ON CONFLICT (meeting_id, user_id) DO UPDATE SET " + updates;
    db.prepare(statement).bind(1, w.meeting).bind(2, w.user).run();
    auto state = participant_state(db, w.meeting, w.user);
    if (!state) throw StoreUnavailable("participant state vanished after it was written");
    return std::move(*state);
}

RoomSettings room_settings_of(Connection& db, Id meeting) {
    Statement row = db.prepare("SELECT locked, lobby FROM castera_room_settings WHERE meeting_id = ?1");
    row.bind(1, meeting);
    RoomSettings out;
    if (row.step()) {
        out.locked = row.column_bool(0);
        out.lobby = row.column_bool(1);
    }
    return out;
}

// A user marked in one of a meeting's room tables (banned, admitted): `insert` names the table
// and its columns; marking twice is a no-op. True when the mark is new.
bool mark_in_room(Connection& db, std::string_view insert, Id meeting, Id user, Id by) {
    db.prepare(std::string(insert) +
               "VALUES (?1, ?2, nullif(?3, 0), ?4) ON CONFLICT (meeting_id, user_id) DO NOTHING")
        .bind(1, meeting)
        .bind(2, user)
        .bind(3, by)
        .bind(4, format_db(now_utc()))
        .run();
    return db.changes() > 0;
}

// ?2, ?3: the flags to set, NULL for those left as they are.
RoomSettings set_room_settings(Connection& db, const write::SetRoomSettings& w) {
    Statement statement = db.prepare(
        "INSERT INTO castera_room_settings (meeting_id, locked, lobby) VALUES (?1, coalesce(?2, 0), coalesce(?3, 0)) "
        "ON CONFLICT (meeting_id) DO UPDATE SET locked = coalesce(?2, locked), lobby = coalesce(?3, lobby)");
    statement.bind(1, w.meeting);
    if (w.locked) statement.bind(2, *w.locked);
    if (w.lobby) statement.bind(3, *w.lobby);
    statement.run();
    return room_settings_of(db, w.meeting);
}

// The id of the `item`-th row a write created (a message of a group, or its one row).
Id created_item_id(const WriteResult& result, std::size_t item) {
    if (auto* messages = std::get_if<std::vector<Message>>(&result)) return messages->at(item).id;
    return created_id(result);
}

void bind_optional_int(Statement& statement, int index, const std::optional<std::int64_t>& value) {
    if (value) statement.bind(index, *value);
    else statement.bind_null(index);
}

// The first pending event of each endpoint and meeting, due and held by no live lease. SQLite
// runs one write at a time, so claiming needs no row locks. The meetings with pending events
// are walked through the queue index one after the other (a recursive step to the next
// meeting id): a scan costs a few index seeks per meeting, where looking at every pending
// event held the writer for 100 ms at a backlog of 80,000.
constexpr const char* kClaimAny =
    "UPDATE castera_webhook_event SET claimed_by = ?1, claimed_until = ?3 WHERE id IN ("
    "WITH RECURSIVE m(meeting_id) AS ("
    "SELECT (SELECT meeting_id FROM castera_webhook_event WHERE status = 'pending' AND endpoint = ?5 "
    "ORDER BY meeting_id LIMIT 1) "
    "UNION ALL SELECT (SELECT x.meeting_id FROM castera_webhook_event x WHERE x.status = 'pending' AND "
    "x.endpoint = ?5 AND x.meeting_id > m.meeting_id ORDER BY x.meeting_id LIMIT 1) FROM m WHERE m.meeting_id IS NOT NULL) "
    "SELECT h.id FROM m JOIN castera_webhook_event h ON h.id = (SELECT f.id FROM castera_webhook_event f "
    "WHERE f.status = 'pending' AND f.endpoint = ?5 AND f.meeting_id = m.meeting_id ORDER BY f.id LIMIT 1) "
    "WHERE h.next_attempt_at <= ?2 AND (h.claimed_until IS NULL OR h.claimed_until < ?2) "
    "ORDER BY h.id LIMIT ?4) RETURNING ";
// One endpoint's and meeting's first pending events, when the first is due and free: found
// through the queue index, however long that meeting's queue.
constexpr const char* kClaimOne =
    "UPDATE castera_webhook_event SET claimed_by = ?1, claimed_until = ?3 WHERE id IN ("
    "SELECT id FROM castera_webhook_event WHERE status = 'pending' AND endpoint = ?5 AND meeting_id = ?6 "
    "ORDER BY id LIMIT ?4) AND EXISTS (SELECT 1 FROM castera_webhook_event h WHERE h.id = ("
    "SELECT id FROM castera_webhook_event WHERE status = 'pending' AND endpoint = ?5 AND meeting_id = ?6 "
    "ORDER BY id LIMIT 1) AND h.next_attempt_at <= ?2 AND (h.claimed_until IS NULL OR h.claimed_until < ?2)) "
    "RETURNING ";

// The table a console row lives in, for the writes that name a model.
std::string_view table_of(AdminModel model) { return sql::console_table(model).table; }

struct Apply {
    Connection& db;
    const std::vector<WriteResult>& earlier;

    WriteResult operator()(write::CreateUser& w) {
        NewUser& user = w.user;
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
    }
    WriteResult operator()(write::UpdateUser& w) {
        const User& user = w.user;
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
    }
    WriteResult operator()(write::DeleteUser& w) { return delete_user(db, w.user); }
    WriteResult operator()(write::SetPassword& w) {
        db.prepare("UPDATE users_user SET password = ?2 WHERE id = ?1").bind(1, w.user).bind(2, w.hash).run();
        return db.changes() > 0;
    }
    WriteResult operator()(write::TouchLastLogin& w) {
        db.prepare("UPDATE users_user SET last_login = ?2 WHERE id = ?1").bind(1, w.user).bind(2, format_db(w.when)).run();
        return std::monostate{};
    }
    WriteResult operator()(write::CreateSession& w) {
        db.prepare("INSERT OR REPLACE INTO castera_session (key_hash, user_id, expires) VALUES (?1, ?2, ?3)")
            .bind(1, w.session.key_hash)
            .bind(2, w.session.user_id)
            .bind(3, format_db(w.session.expires))
            .run();
        return std::monostate{};
    }
    WriteResult operator()(write::DeleteSession& w) {
        db.prepare("DELETE FROM castera_session WHERE key_hash = ?1").bind(1, w.key_hash).run();
        return std::monostate{};
    }
    WriteResult operator()(write::DeleteUserSessions& w) {
        db.prepare("DELETE FROM castera_session WHERE user_id = ?1").bind(1, w.user).run();
        return std::monostate{};
    }
    WriteResult operator()(write::CreateApiToken& w) {
        ApiToken& token = w.token;
        token.created_at = now_utc();
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
    }
    WriteResult operator()(write::DeleteApiToken& w) {
        db.prepare("DELETE FROM castera_api_token WHERE id = ?1 AND user_id = ?2").bind(1, w.token).bind(2, w.user).run();
        return db.changes() > 0;
    }
    WriteResult operator()(write::TouchApiToken& w) {
        db.prepare("UPDATE castera_api_token SET last_used_at = ?2 WHERE id = ?1")
            .bind(1, w.token)
            .bind(2, format_db(w.when))
            .run();
        return std::monostate{};
    }
    WriteResult operator()(write::CreateMeeting& w) {
        Meeting& meeting = w.meeting;
        if (meeting.room_id.empty()) meeting.room_id = random_uuid4();
        if (meeting.created_on == TimePoint{}) meeting.created_on = now_utc();
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
    }
    WriteResult operator()(write::UpdateMeeting& w) {
        const MeetingChanges& changes = w.changes;
        // Each column is written only when the change carries it: "?N IS NULL" keeps the old
        // value, and ?7 says whether the description (which may become NULL) is part of it.
        Statement statement = db.prepare("UPDATE meetings_meeting SET "
                   "title = coalesce(?2, title), "
                   "description = CASE WHEN ?7 THEN ?3 ELSE description END, "
                   "type_of = coalesce(?4, type_of), "
                   "scheduled_date = coalesce(?5, scheduled_date), "
                   "status = coalesce(?6, status), "
                   "user_id = coalesce(?8, user_id) WHERE id = ?1");
        statement.bind(1, w.meeting)
            .bind(2, changes.title)
            .bind(3, changes.description ? *changes.description : std::nullopt)
            .bind(4, changes.type_of)
            .bind(5, changes.scheduled_date ? std::optional(format_db(*changes.scheduled_date)) : std::nullopt)
            .bind(6, changes.status)
            .bind(7, changes.description.has_value());
        if (changes.user_id) statement.bind(8, *changes.user_id);
        statement.run();
        return meeting_by_id(db, w.meeting);
    }
    WriteResult operator()(write::DeleteMeeting& w) { return delete_meeting(db, w.meeting); }
    WriteResult operator()(write::CreateMessages& w) {
        std::string email = email_of(db, w.user).value_or("");
        std::vector<Message> stored;
        stored.reserve(w.contents.size());
        for (std::string& content : w.contents)
            stored.push_back(insert_message(db, w.meeting, w.user, std::move(content), email, w.at));
        return stored;
    }
    WriteResult operator()(write::CreateRecording& w) {
        TimePoint now = w.at == TimePoint{} ? now_utc() : w.at;
        db.prepare("INSERT INTO meetings_recording (file_url, created_at, meeting_id, uploaded_by_id) "
                   "VALUES (?1, ?2, ?3, ?4)")
            .bind(1, w.file_url)
            .bind(2, format_db(now))
            .bind(3, w.meeting)
            .bind(4, w.user)
            .run();
        return Recording{.id = db.last_insert_id(),
                         .meeting_id = w.meeting,
                         .uploaded_by = w.user,
                         .uploaded_by_email = email_of(db, w.user).value_or(""),
                         .file_url = std::move(w.file_url),
                         .created_at = now};
    }
    WriteResult operator()(write::SetParticipantFlags& w) { return set_flags(db, w); }
    WriteResult operator()(write::CreateSignal& w) {
        TimePoint now = now_utc();
        db.prepare("INSERT INTO meetings_signal (signal_type, data, created_at, meeting_id, sender_id) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)")
            .bind(1, w.signal_type)
            .bind(2, w.data_json)
            .bind(3, format_db(now))
            .bind(4, w.meeting)
            .bind(5, w.sender)
            .run();
        return Signal{.id = db.last_insert_id(),
                      .meeting_id = w.meeting,
                      .sender_id = w.sender,
                      .sender_email = email_of(db, w.sender).value_or(""),
                      .signal_type = std::move(w.signal_type),
                      .data = std::move(w.data_json),
                      .created_at = now};
    }
    WriteResult operator()(write::UpdateMessage& w) {
        db.prepare("UPDATE meetings_message SET meeting_id = ?2, user_id = ?3, content = ?4 WHERE id = ?1")
            .bind(1, w.id)
            .bind(2, w.meeting)
            .bind(3, w.user)
            .bind(4, w.content)
            .run();
        return db.changes() > 0;
    }
    WriteResult operator()(write::UpdateSignal& w) {
        db.prepare("UPDATE meetings_signal SET meeting_id = ?2, sender_id = ?3, signal_type = ?4, data = ?5 WHERE id = ?1")
            .bind(1, w.id)
            .bind(2, w.meeting)
            .bind(3, w.sender)
            .bind(4, w.signal_type)
            .bind(5, w.data_json)
            .run();
        return db.changes() > 0;
    }
    WriteResult operator()(write::UpdateRecording& w) {
        db.prepare("UPDATE meetings_recording SET meeting_id = ?2, uploaded_by_id = ?3, file_url = ?4 WHERE id = ?1")
            .bind(1, w.id)
            .bind(2, w.meeting)
            .bind(3, w.user)
            .bind(4, w.file_url)
            .run();
        return db.changes() > 0;
    }
    WriteResult operator()(write::CreateParticipantState& w) {
        const ParticipantState& p = w.state;
        db.prepare("INSERT INTO meetings_participantstate (meeting_id, user_id, audio_muted, video_stopped, in_call, "
                   "raised_hand, screen_sharing) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .bind(1, p.meeting_id)
            .bind(2, p.user_id)
            .bind(3, p.audio_muted)
            .bind(4, p.video_stopped)
            .bind(5, p.in_call)
            .bind(6, p.raised_hand)
            .bind(7, p.screen_sharing)
            .run();
        auto state = participant_state(db, p.meeting_id, p.user_id);
        if (!state) throw StoreUnavailable("participant state vanished after it was written");
        return std::move(*state);
    }
    WriteResult operator()(write::UpdateParticipantState& w) {
        const ParticipantState& p = w.state;
        db.prepare("UPDATE meetings_participantstate SET meeting_id = ?2, user_id = ?3, audio_muted = ?4, "
                   "video_stopped = ?5, in_call = ?6, raised_hand = ?7, screen_sharing = ?8 WHERE id = ?1")
            .bind(1, p.id)
            .bind(2, p.meeting_id)
            .bind(3, p.user_id)
            .bind(4, p.audio_muted)
            .bind(5, p.video_stopped)
            .bind(6, p.in_call)
            .bind(7, p.raised_hand)
            .bind(8, p.screen_sharing)
            .run();
        return db.changes() > 0;
    }
    WriteResult operator()(write::DeleteRow& w) {
        if (w.model == AdminModel::user || w.model == AdminModel::meeting)
            throw std::invalid_argument("DeleteRow is for rows nothing hangs off");
        db.prepare("DELETE FROM " + std::string(table_of(w.model)) + " WHERE id = ?1").bind(1, w.id).run();
        return db.changes() > 0;
    }
    WriteResult operator()(write::SetRoomSettings& w) { return set_room_settings(db, w); }
    WriteResult operator()(write::BanFromRoom& w) {
        return mark_in_room(db, "INSERT INTO castera_room_ban (meeting_id, user_id, banned_by_id, created_at) ", w.meeting,
                            w.user, w.by);
    }
    WriteResult operator()(write::UnbanFromRoom& w) {
        db.prepare("DELETE FROM castera_room_ban WHERE meeting_id = ?1 AND user_id = ?2").bind(1, w.meeting).bind(2, w.user).run();
        return db.changes() > 0;
    }
    WriteResult operator()(write::AdmitToRoom& w) {
        return mark_in_room(db, "INSERT INTO castera_room_admission (meeting_id, user_id, admitted_by_id, created_at) ",
                            w.meeting, w.user, w.by);
    }
    WriteResult operator()(write::LogAdminAction& w) {
        AdminLogEntry& e = w.entry;
        if (w.subject) {
            Id id = created_id(earlier.at(*w.subject));
            e.object_id = std::to_string(id);
            if (w.repr_names_id) e.object_repr += " (" + e.object_id + ")";
        }
        const sql::ConsoleTable& table = sql::console_table(w.model);
        db.prepare("INSERT INTO django_admin_log (action_time, object_id, object_repr, action_flag, change_message, "
                   "content_type_id, user_id) VALUES (?1, ?2, ?3, ?4, ?5, "
                   "(SELECT id FROM django_content_type WHERE app_label = ?6 AND model = ?7), ?8)")
            .bind(1, format_db(now_utc()))
            .bind(2, e.object_id)
            .bind(3, e.object_repr)
            .bind(4, std::int64_t{e.action_flag})
            .bind(5, e.change_message)
            .bind(6, table.app_label)
            .bind(7, table.model_name)
            .bind(8, e.user_id)
            .run();
        return std::monostate{};
    }
    WriteResult operator()(write::EnqueueWebhook& w) {
        WebhookEvent& e = w.event;
        if (w.subject) {
            Id id = created_item_id(earlier.at(*w.subject), w.item);
            e.body += std::to_string(id);
            e.body += w.body_tail;
            if (w.meeting_is_subject) e.meeting_id = id;
        }
        if (w.requires_meeting && !meeting_by_id(db, e.meeting_id)) return std::monostate{};
        db.prepare("INSERT INTO castera_webhook_event (event_id, endpoint, type, meeting_id, body, created_at, "
                   "next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)")
            .bind(1, e.event_id)
            .bind(2, e.endpoint)
            .bind(3, e.type)
            .bind(4, e.meeting_id)
            .bind(5, e.body)
            .bind(6, format_db(e.created_at))
            .run();
        return std::monostate{};
    }
    WriteResult operator()(write::ClaimWebhooks& w) {
        std::string sql = w.meeting ? kClaimOne : kClaimAny;
        Statement claim = db.prepare(sql + std::string(sql::kWebhookColumns));
        claim.bind(1, w.instance).bind(2, format_db(w.now)).bind(3, format_db(w.until)).bind(4, w.limit);
        claim.bind(5, w.endpoint);
        if (w.meeting) claim.bind(6, *w.meeting);
        std::vector<WebhookEvent> claimed;
        while (claim.step()) claimed.push_back(read_webhook_event(claim));
        std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        return claimed;
    }
    WriteResult operator()(write::FinishWebhook& w) {
        Statement finish = db.prepare(
            "UPDATE castera_webhook_event SET status = ?3, attempts = ?4, next_attempt_at = ?5, last_status = ?6, "
            "last_error = ?7, delivered_at = CASE WHEN ?3 = 'delivered' THEN ?8 ELSE NULL END, claimed_by = NULL, "
            "claimed_until = NULL WHERE id = ?1 AND claimed_by = ?2 AND status = 'pending'");
        finish.bind(1, w.id).bind(2, w.instance).bind(3, w.status).bind(4, w.attempts);
        finish.bind(5, format_db(w.next_attempt_at));
        bind_optional_int(finish, 6, w.last_status);
        finish.bind(7, w.last_error).bind(8, format_db(w.at));
        finish.run();
        return db.changes() > 0;
    }
    WriteResult operator()(write::RetryWebhook& w) {
        db.prepare("UPDATE castera_webhook_event SET status = 'pending', attempts = 0, next_attempt_at = ?2, "
                   "claimed_by = NULL, claimed_until = NULL WHERE id = ?1 AND status = 'failed'")
            .bind(1, w.id)
            .bind(2, format_db(w.now))
            .run();
        return db.changes() > 0;
    }
    WriteResult operator()(write::PruneWebhooks& w) {
        db.prepare("DELETE FROM castera_webhook_event WHERE status = 'delivered' AND delivered_at < ?1")
            .bind(1, format_db(w.delivered_before))
            .run();
        db.prepare("UPDATE castera_webhook_event SET status = 'failed', last_error = coalesce(last_error || '; ', '') "
                   "|| 'expired' WHERE status = 'pending' AND created_at < ?1 AND (claimed_until IS NULL OR "
                   "claimed_until < ?2)")
            .bind(1, format_db(w.expire_before))
            .bind(2, format_db(w.now))
            .run();
        return std::monostate{};
    }
};

}  // namespace

WriteResult apply_write(Connection& db, Write& w, const std::vector<WriteResult>& earlier) {
    return std::visit(Apply{db, earlier}, w);
}

bool is_long_write(const Write& w) {
    if (std::holds_alternative<write::DeleteMeeting>(w) || std::holds_alternative<write::DeleteUser>(w)) return true;
    if (auto* messages = std::get_if<write::CreateMessages>(&w)) return messages->contents.size() > kMostRowsOnCaller;
    return false;
}

}  // namespace castera::sqlite
