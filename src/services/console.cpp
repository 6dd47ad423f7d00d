// The admin console: listings, one row, the history, and the writes of messages, signals,
// recordings and participant states (meetings and users go through their own services, which
// log their console changes too).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <charconv>

#include "services/audit.hpp"
#include "services/services.hpp"
#include "util/time.hpp"
#include "util/validate.hpp"

namespace castera::services {
namespace {

using validation::FieldErrors;

constexpr std::string_view kInvalidChoice = "Select a valid choice. That choice is not one of the available choices.";
constexpr std::array<std::string_view, 3> kSignalTypes = {"offer", "answer", "ice"};
// Search words beyond these are ignored: each shape of query is a statement kept prepared.
constexpr std::size_t kMostSearchWords = 10;

// A ticked checkbox, as Django's CheckboxInput reads it.
bool ticked(const boost::json::object& data, std::string_view name) {
    const boost::json::value* v = data.if_contains(name);
    if (!v) return false;
    if (v->is_bool()) return v->get_bool();
    if (!v->is_string()) return false;
    std::string_view text = v->get_string();
    return !(text.empty() || text == "false" || text == "False" || text == "0");
}

std::string_view class_name(AdminModel model) {
    switch (model) {
        case AdminModel::user: return "User";
        case AdminModel::meeting: return "Meeting";
        case AdminModel::message: return "Message";
        case AdminModel::signal: return "Signal";
        case AdminModel::recording: return "Recording";
        case AdminModel::participantstate: return "ParticipantState";
    }
    return "Object";
}

void note(std::vector<std::string>& labels, bool differs, std::string_view field) {
    if (differs) labels.push_back(field_label(field));
}

}  // namespace

std::optional<Id> read_foreign_key(const boost::json::object& data, std::string_view name, FieldErrors& errors) {
    const boost::json::value* v = data.if_contains(name);
    std::string text;
    if (v && v->is_string()) text = std::string(v->get_string());
    else if (v && v->is_int64()) text = std::to_string(v->get_int64());
    while (!text.empty() && text.back() == ' ') text.pop_back();
    while (!text.empty() && text.front() == ' ') text.erase(0, 1);
    if (text.empty()) {
        errors.add(name, "This field is required.");
        return std::nullopt;
    }
    Id id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) {
        errors.add(name, std::string(kInvalidChoice));
        return std::nullopt;
    }
    return id;
}

MessageFields read_message_fields(const boost::json::object& data, FieldErrors& errors) {
    MessageFields f;
    f.meeting = read_foreign_key(data, "meeting", errors).value_or(0);
    f.user = read_foreign_key(data, "user", errors).value_or(0);
    auto content = validation::read_char(data, "content", validation::CharRule{}, validation::Mode::full, errors);
    f.content = std::move(content.value);
    return f;
}

SignalFields read_signal_fields(const boost::json::object& data, FieldErrors& errors) {
    SignalFields f;
    f.meeting = read_foreign_key(data, "meeting", errors).value_or(0);
    f.sender = read_foreign_key(data, "sender", errors).value_or(0);
    auto type = validation::read_choice(data, "signal_type", kSignalTypes, true, validation::Mode::full, errors);
    f.signal_type = std::move(type.value);
    auto text = validation::read_char(data, "data", validation::CharRule{}, validation::Mode::full, errors);
    if (text.ok && text.present) {
        boost::system::error_code ec;
        boost::json::value parsed = boost::json::parse(text.value, ec);
        // JSON the databases cannot keep (a NUL, 1e400) is no valid JSON either.
        if (ec || !validation::is_storable_json(parsed)) errors.add("data", "Enter a valid JSON.");
        else f.data_json = boost::json::serialize(parsed);
    }
    return f;
}

RecordingFields read_recording_fields(const boost::json::object& data, FieldErrors& errors) {
    RecordingFields f;
    f.meeting = read_foreign_key(data, "meeting", errors).value_or(0);
    f.uploaded_by = read_foreign_key(data, "uploaded_by", errors).value_or(0);
    f.file_url = validation::read_url(data, "file_url", 200, errors).value;
    return f;
}

StateFields read_state_fields(const boost::json::object& data, FieldErrors& errors) {
    StateFields f;
    f.meeting = read_foreign_key(data, "meeting", errors).value_or(0);
    f.user = read_foreign_key(data, "user", errors).value_or(0);
    f.audio_muted = ticked(data, "audio_muted");
    f.video_stopped = ticked(data, "video_stopped");
    f.in_call = ticked(data, "in_call");
    f.raised_hand = ticked(data, "raised_hand");
    f.screen_sharing = ticked(data, "screen_sharing");
    return f;
}

// ---- reading

Task<Outcome<ConsolePage>> Console::list(const Actor& actor, AdminModel model, ConsoleQuery query) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    for (const auto& [name, value] : query.filters)
        if (!console_filter_valid(model, name, value))
            co_return Refusal::invalid(name, "Not a value this field can have.");
    if (query.search_words.size() > kMostSearchWords) query.search_words.resize(kMostSearchWords);
    // A word no row can hold (a NUL, broken UTF-8) is found nowhere: no row has every word.
    for (const std::string& word : query.search_words)
        if (!is_valid_utf8(word)) co_return ConsolePage{};
    co_return co_await deps_.store.list_console(model, std::move(query));
}

Task<Outcome<ConsoleRow>> Console::find(const Actor& actor, AdminModel model, Id id) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    ConsoleQuery query;
    query.filters.emplace_back("id", std::to_string(id));
    query.limit = 1;
    ConsolePage page = co_await deps_.store.list_console(model, std::move(query));
    if (page.rows.empty()) co_return Refusal::not_found();
    co_return std::move(page.rows.front());
}

Task<Outcome<std::vector<AdminLogEntry>>> Console::history(const Actor& actor, AdminModel model, Id id) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    AdminLogQuery query{.model = model, .object_id = std::to_string(id), .limit = 1000};
    co_return co_await deps_.store.list_admin_log(std::move(query));
}

Task<Outcome<std::vector<AdminLogEntry>>> Console::recent_actions(const Actor& actor, std::int64_t limit) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    AdminLogQuery query{.user = actor.id(), .limit = limit};
    co_return co_await deps_.store.list_admin_log(std::move(query));
}

Task<Outcome<std::vector<Dependents>>> Console::dependents(const Actor& actor, AdminModel model, Id id) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    using M = AdminModel;
    std::vector<std::pair<M, std::string_view>> related;
    if (model == M::meeting)
        related = {{M::message, "meeting"}, {M::signal, "meeting"}, {M::recording, "meeting"},
                   {M::participantstate, "meeting"}};
    else if (model == M::user)
        related = {{M::meeting, "user"}, {M::message, "user"}, {M::signal, "sender"}, {M::recording, "uploaded_by"},
                   {M::participantstate, "user"}};
    std::vector<Dependents> out;
    for (const auto& [what, field] : related) {
        ConsoleQuery query;
        query.filters.emplace_back(std::string(field), std::to_string(id));
        query.limit = 20;
        ConsolePage page = co_await deps_.store.list_console(what, std::move(query));
        if (page.total > 0) out.push_back(Dependents{what, page.total, std::move(page.rows)});
    }
    co_return out;
}

// ---- writing

Task<FieldErrors> Console::check_keys(Id meeting, std::string_view user_field, Id user) {
    FieldErrors errors;
    if (meeting) {
        auto found = co_await deps_.store.find_meeting(meeting);
        if (!found) errors.add("meeting", std::string(kInvalidChoice));
    }
    if (user) {
        auto found = co_await deps_.store.find_user(user);
        if (!found) errors.add(user_field, std::string(kInvalidChoice));
    }
    co_return errors;
}

Task<Outcome<Meeting>> Console::create_meeting(const Actor& actor, MeetingChanges input) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    if (!input.user_id) co_return Refusal::invalid("user", "This field is required.");
    FieldErrors errors = co_await check_keys(0, "user", *input.user_id);
    if (!errors.empty()) co_return Refusal::invalid(std::move(errors));
    co_return co_await meetings_.create(actor, std::move(input));
}

Task<Outcome<Meeting>> Console::update_meeting(const Actor& actor, const Meeting& meeting, MeetingChanges changes) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    if (changes.user_id) {
        FieldErrors errors = co_await check_keys(0, "user", *changes.user_id);
        if (!errors.empty()) co_return Refusal::invalid(std::move(errors));
    }
    co_return co_await meetings_.update(actor, meeting, std::move(changes));
}

Task<Outcome<Id>> Console::create_message(const Actor& actor, MessageFields f) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    FieldErrors errors = co_await check_keys(f.meeting, "user", f.user);
    if (!errors.empty()) co_return Refusal::invalid(std::move(errors));
    // The message as it will be, but for its id, so that a staged event reports it as the API's do.
    auto author = co_await deps_.store.find_user(f.user);
    TimePoint at = now_utc();
    events::ChatsPosted staged;
    staged.messages.push_back(Message{.meeting_id = f.meeting,
                                      .user_id = f.user,
                                      .user_email = author ? author->email : "",
                                      .content = f.content,
                                      .timestamp = at});
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::CreateMessages{f.meeting, f.user, {std::move(f.content)}, at});
    audit_added(transaction, actor, AdminModel::message, ref, "Message object", true);
    deps_.events.stage(staged, transaction, ref);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    events::ChatsPosted posted{done.take<std::vector<Message>>(ref)};
    Id id = posted.messages.at(0).id;
    deps_.counters.chats_stored.add(posted.messages.size());
    deps_.events.publish(posted);
    co_return id;
}

Task<Outcome<Done>> Console::update_message(const Actor& actor, const Message& before, MessageFields f) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    FieldErrors errors = co_await check_keys(f.meeting, "user", f.user);
    if (!errors.empty()) co_return Refusal::invalid(std::move(errors));
    std::vector<std::string> labels;
    note(labels, before.meeting_id != f.meeting, "meeting");
    note(labels, before.user_id != f.user, "user");
    note(labels, before.content != f.content, "content");
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::UpdateMessage{before.id, f.meeting, f.user, std::move(f.content)});
    audit_changed(transaction, actor, AdminModel::message, before.id, default_repr("Message", before.id), labels);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    if (!done.get<bool>(ref)) co_return Refusal::not_found();
    co_return Done{};
}

Task<Outcome<Id>> Console::create_signal(const Actor& actor, SignalFields f) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    FieldErrors errors = co_await check_keys(f.meeting, "sender", f.sender);
    if (!errors.empty()) co_return Refusal::invalid(std::move(errors));
    Transaction transaction;
    Transaction::Ref ref = transaction.add(
        write::CreateSignal{f.meeting, f.sender, std::move(f.signal_type), std::move(f.data_json)});
    audit_added(transaction, actor, AdminModel::signal, ref, "Signal object", true);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    co_return done.get<Signal>(ref).id;
}

Task<Outcome<Done>> Console::update_signal(const Actor& actor, const Signal& before, SignalFields f) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    FieldErrors errors = co_await check_keys(f.meeting, "sender", f.sender);
    if (!errors.empty()) co_return Refusal::invalid(std::move(errors));
    std::vector<std::string> labels;
    note(labels, before.meeting_id != f.meeting, "meeting");
    note(labels, before.sender_id != f.sender, "sender");
    note(labels, before.signal_type != f.signal_type, "signal_type");
    // The stored JSON may be spelled differently (jsonb's spacing): compare what it says.
    boost::system::error_code ec;
    boost::json::value old_data = boost::json::parse(before.data, ec);
    note(labels, ec || old_data != boost::json::parse(f.data_json), "data");
    Transaction transaction;
    Transaction::Ref ref = transaction.add(
        write::UpdateSignal{before.id, f.meeting, f.sender, std::move(f.signal_type), std::move(f.data_json)});
    audit_changed(transaction, actor, AdminModel::signal, before.id, default_repr("Signal", before.id), labels);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    if (!done.get<bool>(ref)) co_return Refusal::not_found();
    co_return Done{};
}

Task<Outcome<Id>> Console::create_recording(const Actor& actor, RecordingFields f) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    FieldErrors errors = co_await check_keys(f.meeting, "uploaded_by", f.uploaded_by);
    if (!errors.empty()) co_return Refusal::invalid(std::move(errors));
    auto uploader = co_await deps_.store.find_user(f.uploaded_by);
    TimePoint at = now_utc();
    events::RecordingCreated staged{Recording{.meeting_id = f.meeting,
                                              .uploaded_by = f.uploaded_by,
                                              .uploaded_by_email = uploader ? uploader->email : "",
                                              .file_url = f.file_url,
                                              .created_at = at}};
    Transaction transaction;
    Transaction::Ref ref =
        transaction.add(write::CreateRecording{f.meeting, f.uploaded_by, std::move(f.file_url), at});
    audit_added(transaction, actor, AdminModel::recording, ref, "Recording object", true);
    deps_.events.stage(staged, transaction, ref);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    events::RecordingCreated created{done.take<Recording>(ref)};
    Id id = created.recording.id;
    deps_.events.publish(created);
    co_return id;
}

Task<Outcome<Done>> Console::update_recording(const Actor& actor, const Recording& before, RecordingFields f) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    FieldErrors errors = co_await check_keys(f.meeting, "uploaded_by", f.uploaded_by);
    if (!errors.empty()) co_return Refusal::invalid(std::move(errors));
    std::vector<std::string> labels;
    note(labels, before.meeting_id != f.meeting, "meeting");
    note(labels, before.uploaded_by != f.uploaded_by, "uploaded_by");
    note(labels, before.file_url != f.file_url, "file_url");
    Transaction transaction;
    Transaction::Ref ref =
        transaction.add(write::UpdateRecording{before.id, f.meeting, f.uploaded_by, std::move(f.file_url)});
    audit_changed(transaction, actor, AdminModel::recording, before.id, default_repr("Recording", before.id), labels);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    if (!done.get<bool>(ref)) co_return Refusal::not_found();
    co_return Done{};
}

namespace {

ParticipantState state_of(const StateFields& f, Id id) {
    return ParticipantState{.id = id,
                            .meeting_id = f.meeting,
                            .user_id = f.user,
                            .audio_muted = f.audio_muted,
                            .video_stopped = f.video_stopped,
                            .in_call = f.in_call,
                            .raised_hand = f.raised_hand,
                            .screen_sharing = f.screen_sharing};
}

Refusal state_taken() {
    return Refusal::invalid("__all__", "Participant state with this Meeting and User already exists.");
}

}  // namespace

Task<Outcome<Id>> Console::create_state(const Actor& actor, StateFields f) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    FieldErrors errors = co_await check_keys(f.meeting, "user", f.user);
    if (!errors.empty()) co_return Refusal::invalid(std::move(errors));
    // Read first, so that the usual refusal needs no failing transaction (the unique index
    // still decides a race).
    auto existing = co_await deps_.store.find_participant_state(f.meeting, f.user);
    if (existing) co_return state_taken();
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::CreateParticipantState{state_of(f, 0)});
    audit_added(transaction, actor, AdminModel::participantstate, ref, "ParticipantState object", true);
    deps_.events.stage(events::ParticipantStateChanged{{}, actor.id()}, transaction, ref);
    std::optional<Committed> done;
    try {
        done = co_await deps_.store.commit(std::move(transaction));
    } catch (const StoreConflict&) {
    }
    if (!done) co_return state_taken();
    events::ParticipantStateChanged changed{done->take<ParticipantState>(ref), actor.id()};
    Id id = changed.state.id;
    deps_.events.publish(changed);
    co_return id;
}

Task<Outcome<Done>> Console::update_state(const Actor& actor, const ParticipantState& before, StateFields f) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    FieldErrors errors = co_await check_keys(f.meeting, "user", f.user);
    if (!errors.empty()) co_return Refusal::invalid(std::move(errors));
    ParticipantState after = state_of(f, before.id);
    auto existing = co_await deps_.store.find_participant_state(f.meeting, f.user);
    if (existing && existing->id != before.id) co_return state_taken();
    std::vector<std::string> labels;
    note(labels, before.meeting_id != after.meeting_id, "meeting");
    note(labels, before.user_id != after.user_id, "user");
    note(labels, before.audio_muted != after.audio_muted, "audio_muted");
    note(labels, before.video_stopped != after.video_stopped, "video_stopped");
    note(labels, before.in_call != after.in_call, "in_call");
    note(labels, before.raised_hand != after.raised_hand, "raised_hand");
    note(labels, before.screen_sharing != after.screen_sharing, "screen_sharing");
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::UpdateParticipantState{after});
    audit_changed(transaction, actor, AdminModel::participantstate, before.id,
                  default_repr("ParticipantState", before.id), labels);
    deps_.events.stage(events::ParticipantStateChanged{after, actor.id()}, transaction, std::nullopt);
    std::optional<Committed> done;
    try {
        done = co_await deps_.store.commit(std::move(transaction));
    } catch (const StoreConflict&) {
    }
    if (!done) co_return state_taken();
    if (!done->get<bool>(ref)) co_return Refusal::not_found();
    // The room sees the state as it now is, with its participant's email.
    auto user = co_await deps_.store.find_user(after.user_id);
    if (user) after.user_email = user->email;
    deps_.events.publish(events::ParticipantStateChanged{std::move(after), actor.id()});
    co_return Done{};
}

Task<Outcome<Done>> Console::remove(const Actor& actor, AdminModel model, Id id) {
    if (!actor.in_console()) co_return Refusal::forbidden();
    if (model == AdminModel::meeting) {
        auto meeting = co_await deps_.store.find_meeting(id);
        if (!meeting) co_return Refusal::not_found();
        co_return co_await meetings_.remove(actor, *meeting);
    }
    if (model == AdminModel::user) {
        auto user = co_await deps_.store.find_user(id);
        if (!user) co_return Refusal::not_found();
        co_return co_await accounts_.delete_user(actor, *user);
    }
    auto row = co_await find(actor, model, id);
    if (!row) co_return Refusal::not_found();
    Transaction transaction;
    audit_deleted(transaction, actor, model, id, default_repr(class_name(model), id));
    Transaction::Ref ref = transaction.add(write::DeleteRow{model, id});
    Committed done = co_await deps_.store.commit(std::move(transaction));
    if (!done.get<bool>(ref)) co_return Refusal::not_found();
    co_return Done{};
}

}  // namespace castera::services
