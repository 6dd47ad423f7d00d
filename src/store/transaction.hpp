// Several writes committed together, all or none: a Transaction lists them, in order, and
// Store::commit runs them in one commit (one writer job on SQLite, one pipeline segment on
// PostgreSQL) and gives each one's result back. A use case that writes more than one row (a
// new password and the end of its sessions; a change and the event that reports it) builds one
// Transaction, so that no reader ever sees half of it and a crash leaves all or nothing.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "store/models.hpp"

namespace castera {

// A partial change to a meeting: fields that are set are written.
struct MeetingChanges {
    std::optional<std::string> title;
    std::optional<std::optional<std::string>> description;  // set to null when inner is empty
    std::optional<std::string> type_of;
    std::optional<TimePoint> scheduled_date;
    std::optional<std::string> status;
    std::optional<Id> user_id;  // a new owner (the admin console only; the API never sets it)

    bool empty() const { return !title && !description && !type_of && !scheduled_date && !status && !user_id; }
};

// Participant flags to set, in the order given (a later value for the same flag wins).
using FlagChanges = std::vector<std::pair<ParticipantFlag, bool>>;

// The writes a transaction may hold, one struct each.
namespace write {
struct CreateUser { NewUser user; };
struct UpdateUser { User user; };
struct DeleteUser { Id user = 0; };  // with everything that hangs off the user
struct SetPassword { Id user = 0; std::string hash; };
struct TouchLastLogin { Id user = 0; TimePoint when{}; };
struct CreateSession { Session session; };
struct DeleteSession { std::string key_hash; };
struct DeleteUserSessions { Id user = 0; };
struct CreateApiToken { ApiToken token; };
struct DeleteApiToken { Id user = 0; Id token = 0; };
struct TouchApiToken { Id token = 0; TimePoint when{}; };
struct CreateMeeting { Meeting meeting; };  // id set by the store; room_id and created_on too when empty
struct UpdateMeeting { Id meeting = 0; MeetingChanges changes; };
struct DeleteMeeting { Id meeting = 0; };  // with its messages, signals, recordings, states
// `at`, when set, is the rows' time (a staged event already carries it); else the store's now.
struct CreateMessages { Id meeting = 0; Id user = 0; std::vector<std::string> contents; TimePoint at{}; };
struct CreateRecording { Id meeting = 0; Id user = 0; std::string file_url; TimePoint at{}; };
struct SetParticipantFlags { Id meeting = 0; Id user = 0; FlagChanges flags; };
struct CreateSignal { Id meeting = 0; Id sender = 0; std::string signal_type; std::string data_json; };
// A room's controls: the flags that are set are written (the row made on first use); gives
// the RoomSettings as stored (without the banned list).
struct SetRoomSettings { Id meeting = 0; std::optional<bool> locked; std::optional<bool> lobby; };
// Bans a user from a meeting's room (true when newly banned), and lifts it (true when there was one).
struct BanFromRoom { Id meeting = 0; Id user = 0; Id by = 0; };
struct UnbanFromRoom { Id meeting = 0; Id user = 0; };
// Remembers that a moderator let the user in past the lobby (true when newly admitted).
struct AdmitToRoom { Id meeting = 0; Id user = 0; Id by = 0; };
// The admin console's rewrites of a whole row; each answers whether the row was there.
struct UpdateMessage { Id id = 0; Id meeting = 0; Id user = 0; std::string content; };
struct UpdateSignal { Id id = 0; Id meeting = 0; Id sender = 0; std::string signal_type; std::string data_json; };
struct UpdateRecording { Id id = 0; Id meeting = 0; Id user = 0; std::string file_url; };
// A new state with every flag as given (StoreConflict when the meeting and user have one).
struct CreateParticipantState { ParticipantState state; };
struct UpdateParticipantState { ParticipantState state; };  // by state.id, every column
// Deletes one message, signal, recording or participant state (nothing hangs off them).
struct DeleteRow { AdminModel model = AdminModel::message; Id id = 0; };
// A row of Django's admin history. With `subject`, the object is the one that write of the
// same transaction created: its id becomes object_id, and with `repr_names_id` the repr is
// entry.object_repr followed by " (<id>)", as Django's default str() ("Message object (7)").
struct LogAdminAction {
    AdminModel model = AdminModel::user;
    AdminLogEntry entry;  // action_time set by the store (app_label and model unused)
    std::optional<std::size_t> subject;
    bool repr_names_id = false;
};
// A webhook event into the outbox, committed with the change it reports. With `subject`,
// the event is about the row that earlier write creates (its `item`-th message): the stored
// body is event.body + that row's id + body_tail, and with `meeting_is_subject` the event's
// meeting is that id too (a new meeting). With `requires_meeting`, nothing is written unless
// event.meeting_id names a meeting (an update that found no meeting reports nothing).
struct EnqueueWebhook {
    WebhookEvent event;
    std::string body_tail;
    std::optional<std::size_t> subject;
    std::size_t item = 0;
    bool meeting_is_subject = false;
    bool requires_meeting = false;
};
// Claims, for `instance` until `until`, up to `limit` of `endpoint`'s pending events due at
// `now` that are the first pending event of their meeting and not claimed by a live lease (on
// PostgreSQL skipping rows another instance holds). With `meeting`, that meeting's first
// `limit` pending events, when the first is due and free (those behind it were never tried:
// they are due and free with it). Gives the claimed events, oldest first.
struct ClaimWebhooks {
    std::string instance;
    TimePoint now{};
    TimePoint until{};
    std::int64_t limit = 1;
    std::string endpoint;
    std::optional<Id> meeting;
};
// The outcome of an attempt on a claimed event (ignored unless `instance` still holds it):
// "delivered", "pending" (again at next_attempt_at) or "failed". Answers whether it was held.
struct FinishWebhook {
    Id id = 0;
    std::string instance;
    std::string status;
    std::int64_t attempts = 0;
    TimePoint next_attempt_at{};
    std::optional<std::int64_t> last_status;
    std::optional<std::string> last_error;
    TimePoint at{};
};
// A failed event made pending again, due at `now`, its attempts counted from zero.
struct RetryWebhook { Id id = 0; TimePoint now{}; };
// Forgets events delivered before `delivered_before`, and fails pending ones created before
// `expire_before` that no live lease holds (at `now`).
struct PruneWebhooks { TimePoint delivered_before{}; TimePoint expire_before{}; TimePoint now{}; };
}  // namespace write

using Write = std::variant<write::CreateUser, write::UpdateUser, write::DeleteUser, write::SetPassword,
                           write::TouchLastLogin, write::CreateSession, write::DeleteSession,
                           write::DeleteUserSessions, write::CreateApiToken, write::DeleteApiToken,
                           write::TouchApiToken, write::CreateMeeting, write::UpdateMeeting, write::DeleteMeeting,
                           write::CreateMessages, write::CreateRecording, write::SetParticipantFlags,
                           write::CreateSignal, write::UpdateMessage, write::UpdateSignal, write::UpdateRecording,
                           write::CreateParticipantState, write::UpdateParticipantState, write::DeleteRow,
                           write::LogAdminAction, write::SetRoomSettings, write::BanFromRoom,
                           write::UnbanFromRoom, write::AdmitToRoom, write::EnqueueWebhook, write::ClaimWebhooks,
                           write::FinishWebhook, write::RetryWebhook, write::PruneWebhooks>;

// What one write gave back: nothing, whether it found its row, or the row it wrote.
using WriteResult = std::variant<std::monostate, bool, User, ApiToken, Meeting, std::optional<Meeting>,
                                 std::vector<Message>, Recording, ParticipantState, Signal, RoomSettings,
                                 std::vector<WebhookEvent>>;

// The id of the row a write created (a user, a meeting, the first of its messages, a
// recording, a state, a signal); 0 for any other result.
inline Id created_id(const WriteResult& result) {
    return std::visit(
        [](const auto& r) -> Id {
            using R = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<R, std::vector<Message>>) return r.empty() ? 0 : r.front().id;
            else if constexpr (std::is_same_v<R, User> || std::is_same_v<R, Meeting> || std::is_same_v<R, Recording> ||
                               std::is_same_v<R, ParticipantState> || std::is_same_v<R, Signal>)
                return r.id;
            else return 0;
        },
        result);
}

class Transaction {
public:
    // One write of this transaction, to find its result by.
    struct Ref {
        std::size_t index = 0;
    };

    Ref add(Write w) {
        writes_.push_back(std::move(w));
        return Ref{writes_.size() - 1};
    }

    const std::vector<Write>& writes() const { return writes_; }
    std::vector<Write>& writes() { return writes_; }
    bool empty() const { return writes_.empty(); }

private:
    std::vector<Write> writes_;
};

// The results of a committed transaction, one per write, in order.
class Committed {
public:
    Committed() = default;
    explicit Committed(std::vector<WriteResult> results) : results_(std::move(results)) {}

    // The result of `ref`, as the type its write gives (see WriteResult).
    template <typename T>
    T take(Transaction::Ref ref) {
        return std::move(std::get<T>(results_.at(ref.index)));
    }
    template <typename T>
    const T& get(Transaction::Ref ref) const {
        return std::get<T>(results_.at(ref.index));
    }
    std::size_t size() const { return results_.size(); }

private:
    std::vector<WriteResult> results_;
};

}  // namespace castera
