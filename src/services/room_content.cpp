// What is said and shown in a meeting: chat, recordings, participant states, signals.
#include "services/services.hpp"
#include "util/time.hpp"
#include "util/validate.hpp"

namespace castera::services {
namespace {

bool is_blank(std::string_view s) { return s.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos; }

}  // namespace

Task<Outcome<Page<Message>>> Chats::list(const Actor& actor, const Meeting& meeting, std::optional<std::int64_t> limit,
                                         std::int64_t offset) {
    // The old server's own wording for this refusal, kept for its clients.
    if (!may_manage(actor, meeting)) co_return Refusal::forbidden("You are not allowed to view messages for this meeting.");
    co_return co_await deps_.store.list_messages(meeting.id, limit, offset);
}

Task<Outcome<std::vector<Message>>> Chats::post(const Actor& actor, const Meeting& meeting,
                                                std::vector<std::string> contents, ChatChannel channel) {
    if (!may_post_chat(actor, meeting, channel)) co_return Refusal::forbidden();
    for (const std::string& content : contents) {
        if (is_blank(content)) co_return Refusal::invalid("content", "This field may not be blank.");
        // As the API's CharField: text that is not UTF-8 or holds a NUL (PostgreSQL cannot keep it).
        if (!is_valid_utf8(content)) co_return Refusal::invalid("content", "Not a valid string.");
    }
    if (contents.empty()) co_return std::vector<Message>{};
    // The rows as they will be, but for their ids, so that a staged event can report them.
    TimePoint at = now_utc();
    events::ChatsPosted staged;
    staged.messages.reserve(contents.size());
    for (const std::string& content : contents)
        staged.messages.push_back(Message{.meeting_id = meeting.id,
                                          .user_id = actor.id(),
                                          .user_email = actor.user() ? actor.user()->email : "",
                                          .content = content,
                                          .timestamp = at});
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::CreateMessages{meeting.id, actor.id(), std::move(contents), at});
    deps_.events.stage(staged, transaction, ref);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    events::ChatsPosted posted{done.take<std::vector<Message>>(ref)};
    deps_.counters.chats_stored.add(posted.messages.size());
    deps_.events.publish(posted);
    co_return std::move(posted.messages);
}

Task<Outcome<Page<Recording>>> Recordings::list(const Actor& actor, const Meeting& meeting,
                                                std::optional<std::int64_t> limit, std::int64_t offset) {
    if (!may_manage(actor, meeting)) co_return Refusal::forbidden();
    co_return co_await deps_.store.list_recordings(meeting.id, limit, offset);
}

Task<Outcome<Recording>> Recordings::create(const Actor& actor, const Meeting& meeting, std::string file_url) {
    if (!may_manage(actor, meeting)) co_return Refusal::forbidden();
    TimePoint at = now_utc();
    events::RecordingCreated staged{Recording{.meeting_id = meeting.id,
                                              .uploaded_by = actor.id(),
                                              .uploaded_by_email = actor.user() ? actor.user()->email : "",
                                              .file_url = file_url,
                                              .created_at = at}};
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::CreateRecording{meeting.id, actor.id(), std::move(file_url), at});
    deps_.events.stage(staged, transaction, ref);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    events::RecordingCreated created{done.take<Recording>(ref)};
    deps_.events.publish(created);
    co_return std::move(created.recording);
}

Task<std::vector<ParticipantState>> Participants::list(const Meeting& meeting) {
    co_return co_await deps_.store.list_participant_states(meeting.id);
}

Task<Outcome<ParticipantState>> Participants::change_own(const Actor& actor, const Meeting& meeting, FlagChanges flags) {
    if (actor.is_system()) co_return Refusal::forbidden();
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::SetParticipantFlags{meeting.id, actor.id(), std::move(flags)});
    deps_.events.stage(events::ParticipantStateChanged{{}, actor.id()}, transaction, ref);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    events::ParticipantStateChanged changed{done.take<ParticipantState>(ref), actor.id()};
    deps_.events.publish(changed);
    co_return std::move(changed.state);
}

// Events with nothing else to commit: the outbox's rows (when a sink stages any) are the whole
// transaction.
Task<void> Participants::arrived(const User& user, const Meeting& meeting, bool first_in_room) {
    events::Event event = events::ParticipantJoined{meeting, user.id, user.email, first_in_room};
    Transaction transaction;
    deps_.events.stage(event, transaction, std::nullopt);
    if (!transaction.empty()) co_await deps_.store.commit(std::move(transaction));
    deps_.events.publish(event);
}

Task<void> Participants::departed(const User& user, const Meeting& meeting) {
    events::Event event = events::ParticipantLeft{meeting, user.id, user.email};
    Transaction transaction;
    deps_.events.stage(event, transaction, std::nullopt);
    if (!transaction.empty()) co_await deps_.store.commit(std::move(transaction));
    deps_.events.publish(event);
}

Task<Outcome<Page<WebhookEvent>>> WebhookDeliveries::list(const Actor& actor, std::string status, std::int64_t limit,
                                                         std::int64_t offset) {
    if (!may_see_webhooks(actor)) co_return Refusal::forbidden();
    if (!status.empty() && status != "pending" && status != "delivered" && status != "failed")
        co_return Refusal::invalid("status", "\"" + status + "\" is not a valid choice.");
    co_return co_await deps_.store.list_webhook_events(std::move(status), limit, offset);
}

Task<Outcome<Done>> WebhookDeliveries::retry(const Actor& actor, Id id) {
    if (!may_see_webhooks(actor)) co_return Refusal::forbidden();
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::RetryWebhook{id, now_utc()});
    Committed done = co_await deps_.store.commit(std::move(transaction));
    if (!done.get<bool>(ref)) co_return Refusal::not_found();
    co_return Done{};
}

Task<Signal> Participants::record_signal(const Actor& actor, const Meeting& meeting, std::string signal_type,
                                         std::string data_json) {
    co_return co_await deps_.store.create_signal(meeting.id, actor.id(), std::move(signal_type), std::move(data_json));
}

}  // namespace castera::services
