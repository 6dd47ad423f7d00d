// Reading SQLite rows into the domain types, and the value forms Django uses on SQLite: UUIDs
// as 32 hex digits, datetimes as "YYYY-MM-DD hh:mm:ss.uuuuuu".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/models.hpp"
#include "store/sqlite/connection.hpp"

namespace castera::sqlite {

TimePoint read_time(const Statement& row, int column);
std::optional<TimePoint> read_optional_time(const Statement& row, int column);
std::optional<std::string> optional_db_time(const std::optional<TimePoint>& t);

// Django keeps UUIDs on SQLite as 32 hex digits; the API speaks the dashed form.
std::string uuid_to_db(std::string_view canonical);
std::string uuid_from_db(std::string_view stored);

// Each reads the columns of sql_shared.hpp's lists (or selects) from column `first` on.
User read_user(const Statement& row, int first = 0);
Meeting read_meeting(const Statement& row, int first = 0);
Message read_message(const Statement& row);
Recording read_recording(const Statement& row);
ParticipantState read_state(const Statement& row);
Signal read_signal(const Statement& row);
AdminLogEntry read_admin_log(const Statement& row);
ApiToken read_token(const Statement& row);
WebhookEvent read_webhook_event(const Statement& row);

// The rows written by a transaction read back on its connection.
std::optional<Meeting> meeting_by_id(Connection& db, Id id);
std::optional<ParticipantState> participant_state(Connection& db, Id meeting, Id user);
std::optional<std::string> email_of(Connection& db, Id user);

}  // namespace castera::sqlite
