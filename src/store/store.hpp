// The Store: everything castera persists, behind one interface. The HTTP and real-time layers
// speak only to this; the SQLite and PostgreSQL backends implement it. Every call is a
// coroutine so that a backend with asynchronous I/O (PostgreSQL) never blocks an event loop.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/models.hpp"

namespace castera {

template <typename T>
using Task = boost::asio::awaitable<T>;

// The database cannot be reached or failed for a reason that is not the caller's (503).
struct StoreUnavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A uniqueness constraint was violated (an email already taken, for example).
struct StoreConflict : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Which meetings a listing returns, and in which order.
struct MeetingQuery {
    enum class Order {
        newest_created_first,    // created_on DESC, id DESC
        soonest_scheduled_first, // scheduled_date ASC, id ASC
        latest_scheduled_first,  // scheduled_date DESC, id DESC
        id_ascending,            // id ASC
    };
    std::optional<Id> owner;                    // none: every meeting (admins)
    std::optional<TimePoint> scheduled_after;   // scheduled_date > this
    std::optional<TimePoint> scheduled_until;   // scheduled_date <= this
    Order order = Order::newest_created_first;
    std::optional<std::int64_t> limit;          // none: all rows
    std::int64_t offset = 0;
};

// A page of a listing: the rows and, for paginated listings, the total count.
template <typename T>
struct Page {
    std::vector<T> rows;
    std::int64_t total = 0;  // filled only when the query had a limit
};

// Totals over one owner's meetings, for the dashboard.
struct OwnerTotals {
    std::int64_t meetings = 0;
    std::int64_t recordings = 0;  // recordings of the owner's meetings
    std::int64_t messages = 0;    // messages in the owner's meetings
};

// A partial change to a meeting: fields that are set are written.
struct MeetingChanges {
    std::optional<std::string> title;
    std::optional<std::optional<std::string>> description;  // set to null when inner is empty
    std::optional<std::string> type_of;
    std::optional<TimePoint> scheduled_date;
    std::optional<std::string> status;
};

class Store {
public:
    virtual ~Store() = default;

    // Users.
    virtual Task<std::optional<User>> find_user(Id id) = 0;
    // Email lookup is exact, as Django's default manager (emails are stored as given).
    virtual Task<std::optional<User>> find_user_by_email(std::string email) = 0;
    virtual Task<User> create_user(NewUser user) = 0;  // throws StoreConflict on a taken email
    virtual Task<bool> set_password(Id user, std::string hash) = 0;
    virtual Task<void> touch_last_login(Id user, TimePoint when) = 0;
    // Partial update of a user's profile and flags (the CLI and the admin use it).
    virtual Task<bool> update_user(const User& user) = 0;
    virtual Task<bool> delete_user(Id user) = 0;  // cascades to what hangs off the user
    virtual Task<std::vector<User>> list_users() = 0;

    // Sessions (castera_session).
    virtual Task<void> create_session(Session session) = 0;
    virtual Task<std::optional<Session>> find_session(std::string key_hash) = 0;
    // A session with its user, in one query: the lookup behind every session-authenticated
    // request. Nothing when the session or its user is gone.
    virtual Task<std::optional<SessionUser>> find_session_user(std::string key_hash) = 0;
    // The same, and the meeting a request is about (its path's id) along with it, in one
    // statement: one round trip on PostgreSQL, one read transaction on SQLite.
    virtual Task<SessionUserMeeting> find_session_user_and_meeting(std::string key_hash, Id meeting) = 0;
    virtual Task<void> delete_session(std::string key_hash) = 0;
    virtual Task<void> delete_user_sessions(Id user) = 0;

    // API tokens (castera_api_token), newest first in listings.
    virtual Task<ApiToken> create_api_token(ApiToken token) = 0;  // id and created_at set here
    virtual Task<std::vector<ApiToken>> list_api_tokens(Id user) = 0;
    virtual Task<std::optional<ApiToken>> find_api_token(std::string key_hash) = 0;
    virtual Task<bool> delete_api_token(Id user, Id token) = 0;  // only the owner's token
    virtual Task<void> touch_api_token(Id token, TimePoint when) = 0;

    // Meetings.
    virtual Task<std::optional<Meeting>> find_meeting(Id id) = 0;
    virtual Task<std::optional<Meeting>> find_meeting_by_room(std::string room_id) = 0;
    virtual Task<Page<Meeting>> list_meetings(MeetingQuery query) = 0;
    // Inserts a meeting; id and room_id are ignored and generated, created_on is set here.
    virtual Task<Meeting> create_meeting(Meeting meeting) = 0;
    // Applies the changes and returns the updated meeting, or nothing when it does not exist.
    virtual Task<std::optional<Meeting>> update_meeting(Id id, MeetingChanges changes) = 0;
    virtual Task<bool> delete_meeting(Id id) = 0;  // cascades to messages, signals, ...
    virtual Task<OwnerTotals> owner_totals(Id owner) = 0;

    // Messages, oldest first.
    virtual Task<Page<Message>> list_messages(Id meeting, std::optional<std::int64_t> limit,
                                              std::int64_t offset) = 0;
    virtual Task<Message> create_message(Id meeting, Id user, std::string content) = 0;
    // Several messages of one author, stored in the order given (in one commit where the
    // store can) and returned in that order.
    virtual Task<std::vector<Message>> create_messages(Id meeting, Id user, std::vector<std::string> contents) = 0;

    // Recordings, newest first.
    virtual Task<Page<Recording>> list_recordings(Id meeting, std::optional<std::int64_t> limit,
                                                  std::int64_t offset) = 0;
    virtual Task<Recording> create_recording(Id meeting, Id user, std::string file_url) = 0;

    // Participant states: one row per (meeting, user), created with defaults on first use.
    virtual Task<ParticipantState> set_participant_flag(Id meeting, Id user, ParticipantFlag flag,
                                                        bool value) = 0;
    virtual Task<std::optional<ParticipantState>> find_participant_state(Id meeting, Id user) = 0;
    virtual Task<std::vector<ParticipantState>> list_participant_states(Id meeting) = 0;

    // Signals (WebRTC signaling history).
    virtual Task<Signal> create_signal(Id meeting, Id sender, std::string signal_type,
                                       std::string data_json) = 0;

    // True when the database answers (for /readyz).
    virtual Task<bool> ping() = 0;

    // A number that stays the same only while the database has not changed since the previous
    // call, whoever changed it. What is read from the database may be remembered for as long
    // as it stays the same. A store that cannot tell cheaply returns a new number every time.
    virtual std::uint64_t change_stamp() { return ++unknown_change_; }

    // Says that from now on every call comes from this event loop, for as long as it lives
    // (a server's loop). A backend may then keep its sockets registered with the loop between
    // calls. Without it (the command line, tests), each call may run on another io_context.
    virtual void settle_on(const boost::asio::any_io_executor& loop) { (void)loop; }

private:
    std::uint64_t unknown_change_ = 0;
};

// Makes one Store per event loop (each backend keeps its own connections per loop), and runs
// the schema migration.
class StoreFactory {
public:
    virtual ~StoreFactory() = default;
    // Creates or upgrades the schema; idempotent. Throws with a clear message on failure.
    virtual void migrate() = 0;
    // A store for the calling thread's event loop.
    virtual std::unique_ptr<Store> make_store() = 0;
    // A short name for logs: "sqlite:/path" or "postgresql://host/db".
    virtual std::string describe() const = 0;
};

// Chooses the backend from a database URL ("sqlite:PATH"). Throws std::invalid_argument with
// a clear message for an unknown scheme.
std::unique_ptr<StoreFactory> make_store_factory(const std::string& database_url);

}  // namespace castera
