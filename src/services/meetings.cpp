// Meetings: list, create, change, end, delete.
#include <array>

#include "observe/log.hpp"
#include "services/audit.hpp"
#include "services/services.hpp"
#include "util/random.hpp"
#include "util/time.hpp"

namespace castera::services {
namespace {

using validation::CharRule;
using validation::FieldErrors;
using validation::Mode;

constexpr std::array<std::string_view, 2> kTypes = {"public", "private"};
constexpr std::array<std::string_view, 2> kStatuses = {"active", "ended"};

// The meeting as it is once `changes` are applied to `m`.
Meeting with_changes(Meeting m, const MeetingChanges& changes) {
    if (changes.title) m.title = *changes.title;
    if (changes.description) m.description = *changes.description;
    if (changes.type_of) m.type_of = *changes.type_of;
    if (changes.scheduled_date) m.scheduled_date = *changes.scheduled_date;
    if (changes.status) m.status = *changes.status;
    if (changes.user_id) m.user_id = *changes.user_id;
    return m;
}

// The labels of the fields that differ, as Django's admin logs a change.
std::vector<std::string> changed_labels(const Meeting& before, const Meeting& after) {
    std::vector<std::string> labels;
    if (before.user_id != after.user_id) labels.push_back(field_label("user"));
    if (before.title != after.title) labels.push_back(field_label("title"));
    if (before.description != after.description) labels.push_back(field_label("description"));
    if (before.type_of != after.type_of) labels.push_back(field_label("type_of"));
    if (before.scheduled_date != after.scheduled_date) labels.push_back(field_label("scheduled_date"));
    if (before.status != after.status) labels.push_back(field_label("status"));
    return labels;
}

}  // namespace

MeetingChanges read_meeting_changes(const boost::json::object& data, Mode mode, FieldErrors& errors) {
    MeetingChanges changes;
    auto title = validation::read_char(data, "title", CharRule{.required = true, .max_length = 255}, mode, errors);
    if (title.present && title.ok) changes.title = title.value;
    auto description = validation::read_char(
        data, "description", CharRule{.required = false, .allow_null = true, .allow_blank = true}, mode, errors);
    if (description.present && description.ok)
        changes.description = description.null ? std::optional<std::string>{} : description.value;
    auto type_of = validation::read_choice(data, "type_of", kTypes, false, mode, errors);
    if (type_of.present && type_of.ok) changes.type_of = type_of.value;
    auto scheduled = validation::read_datetime(data, "scheduled_date", true, mode, errors);
    if (scheduled.present && scheduled.ok) changes.scheduled_date = scheduled.value;
    auto status = validation::read_choice(data, "status", kStatuses, false, mode, errors);
    if (status.present && status.ok) changes.status = status.value;
    return changes;
}

Task<Page<Meeting>> Meetings::list(const Actor& actor, MeetingQuery query) {
    if (!sees_every_meeting(actor)) query.owner = actor.id();
    co_return co_await deps_.store.list_meetings(std::move(query));
}

Task<std::optional<Meeting>> Meetings::find(Id id) { co_return co_await deps_.store.find_meeting(id); }

Task<std::optional<Meeting>> Meetings::find_by_room(std::string_view room_id) {
    std::string canonical;
    if (!parse_uuid(room_id, canonical)) co_return std::nullopt;
    co_return co_await deps_.store.find_meeting_by_room(std::move(canonical));
}

Task<Outcome<Meeting>> Meetings::create(const Actor& actor, MeetingChanges input) {
    if (!input.title || !input.scheduled_date) {
        FieldErrors errors;
        if (!input.title) errors.add("title", "This field is required.");
        if (!input.scheduled_date) errors.add("scheduled_date", "This field is required.");
        co_return Refusal::invalid(std::move(errors));
    }
    Meeting meeting;
    meeting.title = std::move(*input.title);
    if (input.description) meeting.description = std::move(*input.description);
    if (input.type_of) meeting.type_of = std::move(*input.type_of);
    meeting.scheduled_date = *input.scheduled_date;
    if (input.status) meeting.status = std::move(*input.status);
    // Only the admin console chooses the owner; everyone else owns what they create.
    meeting.user_id = input.user_id && actor.in_console() ? *input.user_id : actor.id();
    // Known before the commit, so that a staged event already carries them.
    meeting.room_id = random_uuid4();
    meeting.created_on = now_utc();

    Transaction transaction;
    events::Event staged = events::MeetingCreated{meeting, actor.id()};
    std::string repr = meeting.title;
    Transaction::Ref ref = transaction.add(write::CreateMeeting{std::move(meeting)});
    audit_added(transaction, actor, AdminModel::meeting, ref, std::move(repr));
    deps_.events.stage(staged, transaction, ref);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    Meeting created = done.take<Meeting>(ref);
    deps_.events.publish(events::MeetingCreated{created, actor.id()});
    co_return created;
}

Task<Outcome<Meeting>> Meetings::update(const Actor& actor, const Meeting& meeting, MeetingChanges changes) {
    co_return co_await apply_update(actor, meeting, std::move(changes), false);
}

Task<Outcome<Meeting>> Meetings::apply_update(const Actor& actor, const Meeting& meeting, MeetingChanges changes,
                                              bool status_set) {
    if (!may_manage(actor, meeting)) co_return Refusal::forbidden();
    if (changes.user_id && !actor.in_console()) changes.user_id.reset();
    Transaction transaction;
    Meeting after = with_changes(meeting, changes);
    audit_changed(transaction, actor, AdminModel::meeting, meeting.id, after.title, changed_labels(meeting, after));
    events::Event staged = events::MeetingUpdated{meeting, std::move(after), actor.id(), status_set};
    Transaction::Ref ref = transaction.add(write::UpdateMeeting{meeting.id, std::move(changes)});
    deps_.events.stage(staged, transaction, std::nullopt);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    auto updated = done.take<std::optional<Meeting>>(ref);
    if (!updated) co_return Refusal::not_found();
    deps_.events.publish(events::MeetingUpdated{meeting, *updated, actor.id(), status_set});
    co_return std::move(*updated);
}

Task<Outcome<Done>> Meetings::remove(const Actor& actor, const Meeting& meeting) {
    if (!may_manage(actor, meeting)) co_return Refusal::forbidden();
    Transaction transaction;
    events::Event event = events::MeetingDeleted{meeting, actor.id()};
    audit_deleted(transaction, actor, AdminModel::meeting, meeting.id, meeting.title);
    transaction.add(write::DeleteMeeting{meeting.id});
    deps_.events.stage(event, transaction, std::nullopt);
    co_await deps_.store.commit(std::move(transaction));
    deps_.events.publish(event);
    co_return Done{};
}

Task<Outcome<Meeting>> Meetings::set_status(const Actor& actor, const Meeting& meeting, std::string status) {
    if (!may_manage(actor, meeting)) co_return Refusal::forbidden();
    if (status != "active" && status != "ended") co_return Refusal::invalid("status", "Invalid status");
    MeetingChanges changes;
    changes.status = std::move(status);
    co_return co_await apply_update(actor, meeting, std::move(changes), true);
}

Task<Dashboard> Meetings::dashboard(const User& owner) {
    Dashboard out;
    out.totals = co_await deps_.store.owner_totals(owner.id);
    MeetingQuery query{.owner = owner.id, .order = MeetingQuery::Order::id_ascending};
    out.meetings = (co_await deps_.store.list_meetings(query)).rows;
    co_return out;
}

Task<bool> Services::database_ready() {
    try {
        co_return co_await deps.store.ping();
    } catch (const std::exception& e) {
        log::warning("readyz", "the database does not answer", {{"error", e.what()}});
        co_return false;
    }
}

Task<std::optional<WebhookBacklog>> Services::webhook_backlog() {
    try {
        co_return co_await deps.store.webhook_backlog();
    } catch (const std::exception& e) {
        log::warning("readyz", "the webhook outbox cannot be read", {{"error", e.what()}});
        co_return std::nullopt;
    }
}

}  // namespace castera::services
