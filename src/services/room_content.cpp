// What is said and shown in a meeting: chat, recordings, participant states, signals.
#include "services/services.hpp"

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
    for (const std::string& content : contents)
        if (is_blank(content)) co_return Refusal::invalid("content", "This field may not be blank.");
    if (contents.empty()) co_return std::vector<Message>{};
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::CreateMessages{meeting.id, actor.id(), std::move(contents)});
    deps_.events.stage(events::ChatsPosted{}, transaction, ref);
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
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::CreateRecording{meeting.id, actor.id(), std::move(file_url)});
    deps_.events.stage(events::RecordingCreated{}, transaction, ref);
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

Task<Signal> Participants::record_signal(const Actor& actor, const Meeting& meeting, std::string signal_type,
                                         std::string data_json) {
    co_return co_await deps_.store.create_signal(meeting.id, actor.id(), std::move(signal_type), std::move(data_json));
}

}  // namespace castera::services
