#include "store/store.hpp"

namespace castera {

// Two reads, one after the other: right for a store whose reads cost no round trip (SQLite).
Task<SessionUserMeeting> Store::find_session_user_and_meeting(std::string key_hash, Id meeting) {
    SessionUserMeeting out;
    out.found = co_await find_session_user(std::move(key_hash));
    if (out.found) out.meeting = co_await find_meeting(meeting);
    co_return out;
}

}  // namespace castera
