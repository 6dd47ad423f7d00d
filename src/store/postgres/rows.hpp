// Reading PostgreSQL results into the domain types (columns in sql_shared.hpp's orders).
#pragma once

#include <vector>

#include "store/models.hpp"
#include "store/postgres/connection.hpp"

namespace castera::postgres {

User read_user_at(const Result& r, int row, int first);
inline User read_user(const Result& r, int row) { return read_user_at(r, row, 0); }
Meeting read_meeting_at(const Result& r, int row, int first);
inline Meeting read_meeting(const Result& r, int row) { return read_meeting_at(r, row, 0); }
Message read_message(const Result& r, int row);
Recording read_recording(const Result& r, int row);
ParticipantState read_state(const Result& r, int row);
Signal read_signal(const Result& r, int row);
AdminLogEntry read_admin_log(const Result& r, int row);
ApiToken read_token(const Result& r, int row);
WebhookEvent read_webhook_event(const Result& r, int row);

template <typename Row, typename Read>
std::vector<Row> read_all(const Result& r, Read read) {
    std::vector<Row> rows;
    rows.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) rows.push_back(read(r, i));
    return rows;
}

}  // namespace castera::postgres
