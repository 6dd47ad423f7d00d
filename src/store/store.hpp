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
#include <utility>
#include <variant>
#include <vector>

#include "observe/loop_counter.hpp"
#include "store/models.hpp"
#include "store/transaction.hpp"

namespace castera {

template <typename T>
using Task = boost::asio::awaitable<T>;

// The database cannot be reached or failed for a reason that is not the caller's (503).
struct StoreUnavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The database's storage is full: nothing more can be written until space is freed (503, with
// a message that says so; reads go on).
struct StoreFull : StoreUnavailable {
    using StoreUnavailable::StoreUnavailable;
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

// A listing of the admin console: Django's changelist query for one model. Field names are
// the model's (sql::console_table lists them); a name the model lacks is ignored.
struct ConsoleQuery {
    // Every word must be found (case-insensitively) in one of the model's search fields.
    std::vector<std::string> search_words;
    // field = value, exactly (booleans as "1"/"0", "true"/"false", "True"/"False").
    std::vector<std::pair<std::string, std::string>> filters;
    // In order; the id (descending) always breaks ties. Empty: the model's default order.
    std::vector<std::pair<std::string, bool>> order;  // field, descending
    std::int64_t limit = 100;
    std::int64_t offset = 0;
};

// One row of a console listing: the object, and the text of the object it points at that
// a list shows (a meeting's owner's email; a message's, signal's, recording's or state's
// meeting title; nothing for a user).
using ConsoleRecord = std::variant<User, Meeting, Message, Signal, Recording, ParticipantState>;
struct ConsoleRow {
    ConsoleRecord record;
    std::string related;
};
struct ConsolePage {
    std::vector<ConsoleRow> rows;
    std::int64_t total = 0;  // the rows that match, over every page
};

// Whether a console listing can filter the model's field `name` by `value` (a number for an
// id, a boolean for a flag, a UUID for a room). False for a name the model lacks.
bool console_filter_valid(AdminModel model, std::string_view name, std::string_view value);

// Which rows of the admin history to read.
struct AdminLogQuery {
    std::optional<Id> user;  // this staff member's actions only
    std::optional<AdminModel> model;
    std::string object_id;  // with `model`: one object's history, oldest first
    std::int64_t limit = 10;
};

// Totals over one owner's meetings, for the dashboard.
struct OwnerTotals {
    std::int64_t meetings = 0;
    std::int64_t recordings = 0;  // recordings of the owner's meetings
    std::int64_t messages = 0;    // messages in the owner's meetings
};

// Reads are virtual, one per question; writes all go through commit(), which each backend
// implements once: the single-write methods below are one-write transactions.
class Store {
public:
    virtual ~Store() = default;

    // Runs the transaction's writes in order, in one commit, and returns their results. Throws
    // StoreConflict (a uniqueness violation) or StoreUnavailable; then nothing was written.
    virtual Task<Committed> commit(Transaction transaction) = 0;

    // Users.
    virtual Task<std::optional<User>> find_user(Id id) = 0;
    // Email lookup is exact, as Django's default manager (emails are stored as given).
    virtual Task<std::optional<User>> find_user_by_email(std::string email) = 0;
    virtual Task<std::vector<User>> list_users() = 0;
    Task<User> create_user(NewUser user);  // throws StoreConflict on a taken email
    Task<bool> set_password(Id user, std::string hash);
    Task<void> touch_last_login(Id user, TimePoint when);
    // Rewrites a user's profile and flags (not the password).
    Task<bool> update_user(User user);
    Task<bool> delete_user(Id user);  // with everything that hangs off the user

    // Sessions (castera_session).
    virtual Task<std::optional<Session>> find_session(std::string key_hash) = 0;
    // A session with its user, in one query: the lookup behind every session-authenticated
    // request. Nothing when the session or its user is gone.
    virtual Task<std::optional<SessionUser>> find_session_user(std::string key_hash) = 0;
    // The same, and the meeting a request is about (its path's id) along with it, in one
    // statement: one round trip on PostgreSQL, one read transaction on SQLite.
    virtual Task<SessionUserMeeting> find_session_user_and_meeting(std::string key_hash, Id meeting) = 0;
    Task<void> create_session(Session session);
    Task<void> delete_session(std::string key_hash);
    Task<void> delete_user_sessions(Id user);

    // API tokens (castera_api_token), newest first in listings.
    virtual Task<std::vector<ApiToken>> list_api_tokens(Id user) = 0;
    virtual Task<std::optional<ApiToken>> find_api_token(std::string key_hash) = 0;
    Task<ApiToken> create_api_token(ApiToken token);  // id and created_at set here
    Task<bool> delete_api_token(Id user, Id token);   // only the owner's token
    Task<void> touch_api_token(Id token, TimePoint when);

    // Meetings.
    virtual Task<std::optional<Meeting>> find_meeting(Id id) = 0;
    virtual Task<std::optional<Meeting>> find_meeting_by_room(std::string room_id) = 0;
    virtual Task<Page<Meeting>> list_meetings(MeetingQuery query) = 0;
    virtual Task<OwnerTotals> owner_totals(Id owner) = 0;
    // Inserts a meeting: the id is generated, and so are room_id and created_on when empty.
    Task<Meeting> create_meeting(Meeting meeting);
    // Applies the changes and returns the updated meeting, or nothing when it does not exist.
    Task<std::optional<Meeting>> update_meeting(Id id, MeetingChanges changes);
    Task<bool> delete_meeting(Id id);  // with its messages, signals, recordings, states

    // Messages, oldest first.
    virtual Task<Page<Message>> list_messages(Id meeting, std::optional<std::int64_t> limit,
                                              std::int64_t offset) = 0;
    Task<Message> create_message(Id meeting, Id user, std::string content);
    // Several messages of one author, stored in the order given, in one commit, and returned
    // in that order.
    Task<std::vector<Message>> create_messages(Id meeting, Id user, std::vector<std::string> contents);

    // Recordings, newest first.
    virtual Task<Page<Recording>> list_recordings(Id meeting, std::optional<std::int64_t> limit,
                                                  std::int64_t offset) = 0;
    Task<Recording> create_recording(Id meeting, Id user, std::string file_url);

    // Participant states: one row per (meeting, user), created with defaults on first use.
    virtual Task<std::optional<ParticipantState>> find_participant_state(Id meeting, Id user) = 0;
    virtual Task<std::vector<ParticipantState>> list_participant_states(Id meeting) = 0;
    Task<ParticipantState> set_participant_flags(Id meeting, Id user, FlagChanges flags);
    Task<ParticipantState> set_participant_flag(Id meeting, Id user, ParticipantFlag flag, bool value);

    // Meeting rooms' controls (castera_room_settings, castera_room_ban, castera_room_admission).
    // The meeting of a room with its controls and what they say of `user`, in one statement
    // (a malformed room id names nothing).
    virtual Task<RoomEntry> find_room_entry(std::string room_id, Id user) = 0;
    // The controls with the banned users; defaults for a room that never had any.
    virtual Task<RoomSettings> find_room_settings(Id meeting) = 0;
    // Everyone's state, the last `history` chats (oldest first) and the controls, in one
    // statement: one round trip on PostgreSQL.
    virtual Task<RoomSnapshot> room_snapshot(Id meeting, std::int64_t history) = 0;

    // Signals (WebRTC signaling history).
    Task<Signal> create_signal(Id meeting, Id sender, std::string signal_type, std::string data_json);

    // The admin console: a changelist page of one model, with its total, and the history.
    virtual Task<ConsolePage> list_console(AdminModel model, ConsoleQuery query) = 0;
    // Newest first, or one object's history oldest first.
    virtual Task<std::vector<AdminLogEntry>> list_admin_log(AdminLogQuery query) = 0;

    // The webhook outbox: deliveries with this status ("pending", "delivered", "failed"; all
    // when empty), newest first; and how many are pending since when.
    virtual Task<Page<WebhookEvent>> list_webhook_events(std::string status, std::int64_t limit,
                                                         std::int64_t offset) = 0;
    virtual Task<WebhookBacklog> webhook_backlog() = 0;

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

    // Counts this store's statements sent and not yet answered in `gauge` (a server loop's,
    // for /metrics; the command line counts nothing).
    void count_statements_in(LoopGauge& gauge) { in_flight_ = &gauge; }

protected:
    // One statement (or commit) in flight for as long as it lives.
    class InFlight {
    public:
        explicit InFlight(LoopGauge* gauge) : gauge_(gauge) {
            if (gauge_) gauge_->add();
        }
        ~InFlight() {
            if (gauge_) gauge_->sub();
        }
        InFlight(const InFlight&) = delete;
        InFlight& operator=(const InFlight&) = delete;

    private:
        LoopGauge* gauge_;
    };
    LoopGauge* in_flight_ = nullptr;

private:
    // Commits one write and returns its result.
    template <typename Result>
    Task<Result> commit_one(Write write);

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
