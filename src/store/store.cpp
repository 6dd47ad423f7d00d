#include "store/store.hpp"

namespace castera {

template <typename Result>
Task<Result> Store::commit_one(Write w) {
    Transaction transaction;
    Transaction::Ref ref = transaction.add(std::move(w));
    Committed done = co_await commit(std::move(transaction));
    if constexpr (!std::is_same_v<Result, void>) co_return done.take<Result>(ref);
}

Task<User> Store::create_user(NewUser user) { return commit_one<User>(write::CreateUser{std::move(user)}); }

Task<bool> Store::set_password(Id user, std::string hash) {
    return commit_one<bool>(write::SetPassword{user, std::move(hash)});
}

Task<void> Store::touch_last_login(Id user, TimePoint when) {
    return commit_one<void>(write::TouchLastLogin{user, when});
}

Task<bool> Store::update_user(User user) { return commit_one<bool>(write::UpdateUser{std::move(user)}); }

Task<bool> Store::delete_user(Id user) { return commit_one<bool>(write::DeleteUser{user}); }

Task<void> Store::create_session(Session session) {
    return commit_one<void>(write::CreateSession{std::move(session)});
}

Task<void> Store::delete_session(std::string key_hash) {
    return commit_one<void>(write::DeleteSession{std::move(key_hash)});
}

Task<void> Store::delete_user_sessions(Id user) { return commit_one<void>(write::DeleteUserSessions{user}); }

Task<ApiToken> Store::create_api_token(ApiToken token) {
    return commit_one<ApiToken>(write::CreateApiToken{std::move(token)});
}

Task<bool> Store::delete_api_token(Id user, Id token) { return commit_one<bool>(write::DeleteApiToken{user, token}); }

Task<void> Store::touch_api_token(Id token, TimePoint when) {
    return commit_one<void>(write::TouchApiToken{token, when});
}

Task<Meeting> Store::create_meeting(Meeting meeting) {
    return commit_one<Meeting>(write::CreateMeeting{std::move(meeting)});
}

Task<std::optional<Meeting>> Store::update_meeting(Id id, MeetingChanges changes) {
    return commit_one<std::optional<Meeting>>(write::UpdateMeeting{id, std::move(changes)});
}

Task<bool> Store::delete_meeting(Id id) { return commit_one<bool>(write::DeleteMeeting{id}); }

Task<Message> Store::create_message(Id meeting, Id user, std::string content) {
    std::vector<std::string> contents;
    contents.push_back(std::move(content));
    std::vector<Message> stored = co_await create_messages(meeting, user, std::move(contents));
    co_return std::move(stored.at(0));
}

Task<std::vector<Message>> Store::create_messages(Id meeting, Id user, std::vector<std::string> contents) {
    return commit_one<std::vector<Message>>(write::CreateMessages{meeting, user, std::move(contents)});
}

Task<Recording> Store::create_recording(Id meeting, Id user, std::string file_url) {
    return commit_one<Recording>(write::CreateRecording{meeting, user, std::move(file_url)});
}

Task<ParticipantState> Store::set_participant_flags(Id meeting, Id user, FlagChanges flags) {
    return commit_one<ParticipantState>(write::SetParticipantFlags{meeting, user, std::move(flags)});
}

Task<ParticipantState> Store::set_participant_flag(Id meeting, Id user, ParticipantFlag flag, bool value) {
    FlagChanges flags{{flag, value}};
    return set_participant_flags(meeting, user, std::move(flags));
}

Task<Signal> Store::create_signal(Id meeting, Id sender, std::string signal_type, std::string data_json) {
    return commit_one<Signal>(write::CreateSignal{meeting, sender, std::move(signal_type), std::move(data_json)});
}

}  // namespace castera
