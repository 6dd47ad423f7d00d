#include "store/sqlite/schema.hpp"

#include <stdexcept>
#include <string>

#include "store/sql_shared.hpp"

namespace castera::sqlite {
namespace {

// Version 1: the tables as Django's migrations create them on SQLite (ids are INTEGER
// PRIMARY KEY AUTOINCREMENT, UUIDs 32 hex digits, datetimes "YYYY-MM-DD hh:mm:ss.uuuuuu"),
// with ON DELETE CASCADE so that the database itself keeps SPEC section 1's cascades.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE IF NOT EXISTS "users_user" (
  "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  "password" varchar(128) NOT NULL,
  "last_login" datetime NULL,
  "is_superuser" bool NOT NULL,
  "email" varchar(254) NOT NULL UNIQUE,
  "full_name" varchar(255) NULL,
  "image" varchar(200) NULL,
  "role" varchar(50) NOT NULL DEFAULT 'user',
  "is_active" bool NOT NULL DEFAULT 1,
  "is_staff" bool NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS "meetings_meeting" (
  "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  "title" varchar(255) NOT NULL,
  "description" text NULL,
  "type_of" varchar(10) NOT NULL DEFAULT 'public',
  "created_on" datetime NOT NULL,
  "room_id" char(32) NOT NULL UNIQUE,
  "scheduled_date" datetime NOT NULL,
  "status" varchar(10) NOT NULL DEFAULT 'active',
  "user_id" bigint NOT NULL REFERENCES "users_user" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "meetings_meeting_user_id" ON "meetings_meeting" ("user_id", "created_on");
CREATE INDEX IF NOT EXISTS "meetings_meeting_scheduled" ON "meetings_meeting" ("scheduled_date");
CREATE TABLE IF NOT EXISTS "meetings_message" (
  "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  "content" text NOT NULL,
  "timestamp" datetime NOT NULL,
  "meeting_id" bigint NOT NULL REFERENCES "meetings_meeting" ("id") ON DELETE CASCADE,
  "user_id" bigint NOT NULL REFERENCES "users_user" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "meetings_message_meeting_id" ON "meetings_message" ("meeting_id", "timestamp");
CREATE INDEX IF NOT EXISTS "meetings_message_user_id" ON "meetings_message" ("user_id");
CREATE TABLE IF NOT EXISTS "meetings_signal" (
  "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  "signal_type" varchar(10) NOT NULL,
  "data" text NOT NULL CHECK ((JSON_VALID("data") OR "data" IS NULL)),
  "created_at" datetime NOT NULL,
  "meeting_id" bigint NOT NULL REFERENCES "meetings_meeting" ("id") ON DELETE CASCADE,
  "sender_id" bigint NOT NULL REFERENCES "users_user" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "meetings_signal_meeting_id" ON "meetings_signal" ("meeting_id");
CREATE INDEX IF NOT EXISTS "meetings_signal_sender_id" ON "meetings_signal" ("sender_id");
CREATE TABLE IF NOT EXISTS "meetings_recording" (
  "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  "file_url" varchar(200) NOT NULL,
  "created_at" datetime NOT NULL,
  "meeting_id" bigint NOT NULL REFERENCES "meetings_meeting" ("id") ON DELETE CASCADE,
  "uploaded_by_id" bigint NOT NULL REFERENCES "users_user" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "meetings_recording_meeting_id" ON "meetings_recording" ("meeting_id", "created_at");
CREATE INDEX IF NOT EXISTS "meetings_recording_uploaded_by_id" ON "meetings_recording" ("uploaded_by_id");
CREATE TABLE IF NOT EXISTS "meetings_participantstate" (
  "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  "audio_muted" bool NOT NULL DEFAULT 0,
  "video_stopped" bool NOT NULL DEFAULT 0,
  "in_call" bool NOT NULL DEFAULT 1,
  "raised_hand" bool NOT NULL DEFAULT 0,
  "screen_sharing" bool NOT NULL DEFAULT 0,
  "meeting_id" bigint NOT NULL REFERENCES "meetings_meeting" ("id") ON DELETE CASCADE,
  "user_id" bigint NOT NULL REFERENCES "users_user" ("id") ON DELETE CASCADE,
  UNIQUE ("meeting_id", "user_id"));
CREATE INDEX IF NOT EXISTS "meetings_participantstate_user_id" ON "meetings_participantstate" ("user_id");
CREATE TABLE IF NOT EXISTS "castera_session" (
  "key_hash" char(64) NOT NULL PRIMARY KEY,
  "user_id" bigint NOT NULL REFERENCES "users_user" ("id") ON DELETE CASCADE,
  "expires" datetime NOT NULL);
CREATE INDEX IF NOT EXISTS "castera_session_user_id" ON "castera_session" ("user_id");
)sql";

// Version 2: API tokens, stored as SHA-256 hashes of their keys.
constexpr const char* kVersion2 = R"sql(
CREATE TABLE IF NOT EXISTS "castera_api_token" (
  "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  "user_id" bigint NOT NULL REFERENCES "users_user" ("id") ON DELETE CASCADE,
  "name" varchar(100) NOT NULL,
  "key_hash" char(64) NOT NULL UNIQUE,
  "prefix" varchar(16) NOT NULL,
  "created_at" datetime NOT NULL,
  "expires_at" datetime NULL,
  "last_used_at" datetime NULL);
CREATE INDEX IF NOT EXISTS "castera_api_token_user_id" ON "castera_api_token" ("user_id");
)sql";

// Version 3: Django's admin history, django_admin_log, and the content types it points at, as
// Django's migrations make them on SQLite (with castera's cascades), so that the admin
// console keeps the history Django's admin would.
constexpr const char* kVersion3 = R"sql(
CREATE TABLE IF NOT EXISTS "django_content_type" (
  "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  "app_label" varchar(100) NOT NULL,
  "model" varchar(100) NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS "django_content_type_app_label_model_76bd3d3b_uniq"
  ON "django_content_type" ("app_label", "model");
INSERT OR IGNORE INTO "django_content_type" ("app_label", "model") VALUES
  ('users', 'user'), ('meetings', 'meeting'), ('meetings', 'message'), ('meetings', 'signal'),
  ('meetings', 'recording'), ('meetings', 'participantstate');
CREATE TABLE IF NOT EXISTS "django_admin_log" (
  "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  "action_time" datetime NOT NULL,
  "object_id" text NULL,
  "object_repr" varchar(200) NOT NULL,
  "action_flag" smallint unsigned NOT NULL CHECK ("action_flag" >= 0),
  "change_message" text NOT NULL,
  "content_type_id" integer NULL REFERENCES "django_content_type" ("id") ON DELETE SET NULL,
  "user_id" bigint NOT NULL REFERENCES "users_user" ("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS "django_admin_log_content_type_id_c4bce8eb" ON "django_admin_log" ("content_type_id");
CREATE INDEX IF NOT EXISTS "django_admin_log_user_id_c564eba6" ON "django_admin_log" ("user_id");
)sql";

// Version 5: the webhook outbox, one row per event and endpoint (castera's own table; version
// 4 was never released). The partial indexes hold only pending rows: the queue stays small
// however many delivered rows wait for pruning.
constexpr const char* kVersion5 = R"sql(
CREATE TABLE IF NOT EXISTS "castera_webhook_event" (
  "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  "event_id" varchar(64) NOT NULL,
  "endpoint" text NOT NULL,
  "type" varchar(64) NOT NULL,
  "meeting_id" bigint NOT NULL,
  "body" text NOT NULL,
  "created_at" datetime NOT NULL,
  "status" varchar(16) NOT NULL DEFAULT 'pending',
  "attempts" integer NOT NULL DEFAULT 0,
  "next_attempt_at" datetime NOT NULL,
  "claimed_by" varchar(64) NULL,
  "claimed_until" datetime NULL,
  "last_status" integer NULL,
  "last_error" text NULL,
  "delivered_at" datetime NULL);
CREATE INDEX IF NOT EXISTS "castera_webhook_event_queue" ON "castera_webhook_event" ("endpoint", "meeting_id", "id")
  WHERE "status" = 'pending';
CREATE INDEX IF NOT EXISTS "castera_webhook_event_pending" ON "castera_webhook_event" ("id") WHERE "status" = 'pending';
CREATE INDEX IF NOT EXISTS "castera_webhook_event_status" ON "castera_webhook_event" ("status", "id");
)sql";

// Version 6: meeting rooms' controls, castera's own (Django's tables are left as they are):
// the lock and lobby flags, who was removed from a room (kick) and who a moderator let in past
// its lobby. They go with their meeting and users.
constexpr const char* kVersion6 = R"sql(
CREATE TABLE IF NOT EXISTS "castera_room_settings" (
  "meeting_id" bigint NOT NULL PRIMARY KEY REFERENCES "meetings_meeting" ("id") ON DELETE CASCADE,
  "locked" bool NOT NULL DEFAULT 0,
  "lobby" bool NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS "castera_room_ban" (
  "meeting_id" bigint NOT NULL REFERENCES "meetings_meeting" ("id") ON DELETE CASCADE,
  "user_id" bigint NOT NULL REFERENCES "users_user" ("id") ON DELETE CASCADE,
  "banned_by_id" bigint NULL REFERENCES "users_user" ("id") ON DELETE SET NULL,
  "created_at" datetime NOT NULL,
  PRIMARY KEY ("meeting_id", "user_id"));
CREATE INDEX IF NOT EXISTS "castera_room_ban_user_id" ON "castera_room_ban" ("user_id");
CREATE TABLE IF NOT EXISTS "castera_room_admission" (
  "meeting_id" bigint NOT NULL REFERENCES "meetings_meeting" ("id") ON DELETE CASCADE,
  "user_id" bigint NOT NULL REFERENCES "users_user" ("id") ON DELETE CASCADE,
  "admitted_by_id" bigint NULL REFERENCES "users_user" ("id") ON DELETE SET NULL,
  "created_at" datetime NOT NULL,
  PRIMARY KEY ("meeting_id", "user_id"));
CREATE INDEX IF NOT EXISTS "castera_room_admission_user_id" ON "castera_room_admission" ("user_id");
)sql";

// Version 7: the outbox's indexes cost an insert less. An event is written with the change it
// reports, so each index an insert touches is one more page per commit on the hottest write
// path (a chat posted): an insert now touches only the queue. The statuses a row ends in have
// partial indexes of their own (pruning the delivered, listing the failed); listing the
// pending goes through the queue.
constexpr const char* kVersion7 = sql::kOutboxIndexesVersion7;

constexpr int kCurrentVersion = 7;

int stored_version(Connection& connection) {
    connection.execute("CREATE TABLE IF NOT EXISTS castera_schema_version (version integer NOT NULL)");
    Statement query = connection.prepare("SELECT max(version) FROM castera_schema_version");
    return query.step() && !query.column_is_null(0) ? static_cast<int>(query.column_int(0)) : 0;
}

}  // namespace

void migrate(Connection& connection) {
    SqlTransaction transaction(connection);
    int version = stored_version(connection);
    if (version > kCurrentVersion)
        throw std::runtime_error("the database has schema version " + std::to_string(version) +
                                 ", newer than this castera (" + std::to_string(kCurrentVersion) + ")");
    if (version < 1) connection.execute(kVersion1);
    if (version < 2) connection.execute(kVersion2);
    if (version < 3) connection.execute(kVersion3);
    if (version < 5) connection.execute(kVersion5);
    if (version < 6) connection.execute(kVersion6);
    if (version < 7) connection.execute(kVersion7);
    if (version < kCurrentVersion)
        connection.prepare("INSERT INTO castera_schema_version (version) VALUES (?1)").bind(1, std::int64_t{kCurrentVersion}).run();
    transaction.commit();
}

}  // namespace castera::sqlite
