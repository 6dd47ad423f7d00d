// A meeting room's controls (lock, lobby) and its moderation (mute, remove, admit), decided here
// for REST and the room's frames alike; the rooms carry out what the events say
// (realtime/room_fanout.cpp), on every instance.
#include <array>

#include "services/services.hpp"
#include "util/random.hpp"

namespace castera::services {
namespace {

constexpr std::string_view kNotBoolean = "Must be a valid boolean.";

struct ActionName {
    ModerationAction action;
    std::string_view frame;  // the moderate frame's "action"
    std::string_view path;   // the REST path's last segment
};
constexpr std::array<ActionName, 8> kActions{{
    {ModerationAction::mute_audio, "mute_audio", "mute-audio"},
    {ModerationAction::stop_video, "stop_video", "stop-video"},
    {ModerationAction::stop_screen_share, "stop_screen_share", "stop-screen-share"},
    {ModerationAction::lower_hand, "lower_hand", "lower-hand"},
    {ModerationAction::kick, "kick", "kick"},
    {ModerationAction::unban, "unban", "unban"},
    {ModerationAction::admit, "admit", "admit"},
    {ModerationAction::deny, "deny", "deny"},
}};

// The flag a state action turns off: muted and stopped are "on", a hand and a share "off".
std::optional<std::pair<ParticipantFlag, bool>> flag_of(ModerationAction action) {
    switch (action) {
        case ModerationAction::mute_audio: return std::pair{ParticipantFlag::audio_muted, true};
        case ModerationAction::stop_video: return std::pair{ParticipantFlag::video_stopped, true};
        case ModerationAction::stop_screen_share: return std::pair{ParticipantFlag::screen_sharing, false};
        case ModerationAction::lower_hand: return std::pair{ParticipantFlag::raised_hand, false};
        default: return std::nullopt;
    }
}

}  // namespace

std::optional<ModerationAction> moderation_action_named(std::string_view name) {
    for (const ActionName& a : kActions)
        if (a.frame == name) return a.action;
    return std::nullopt;
}

std::string_view moderation_action_path(ModerationAction action) {
    for (const ActionName& a : kActions)
        if (a.action == action) return a.path;
    return {};
}

RoomSettingsChanges read_room_settings_changes(const boost::json::object& data, validation::FieldErrors& errors) {
    RoomSettingsChanges changes;
    for (const auto& [name, value] : data) {
        std::optional<bool>* field = name == "locked" ? &changes.locked : name == "lobby" ? &changes.lobby : nullptr;
        if (name == "banned") {
            errors.add(name, "This field is read-only: use POST .../participants/<user>/kick/ or .../unban/.");
        } else if (!field) {
            errors.add(name, "Unknown field.");
        } else if (!value.is_bool()) {
            errors.add(name, std::string(kNotBoolean));
        } else {
            *field = value.get_bool();
        }
    }
    return changes;
}

Task<RoomEntry> RoomControl::entry(std::string_view room_id, Id user) {
    std::string canonical;
    if (!parse_uuid(room_id, canonical)) co_return RoomEntry{};
    co_return co_await deps_.store.find_room_entry(std::move(canonical), user);
}

Task<RoomSnapshot> RoomControl::snapshot(const Meeting& meeting, std::int64_t history) {
    co_return co_await deps_.store.room_snapshot(meeting.id, history);
}

Task<Outcome<RoomSettings>> RoomControl::settings(const Actor& actor, const Meeting& meeting) {
    if (!may_see(actor, meeting)) co_return Refusal::forbidden();
    co_return co_await deps_.store.find_room_settings(meeting.id);
}

Task<Outcome<RoomSettings>> RoomControl::change_settings(const Actor& actor, const Meeting& meeting,
                                                         RoomSettingsChanges changes) {
    if (!may_moderate(actor, meeting)) co_return Refusal::forbidden();
    RoomSettings before = co_await deps_.store.find_room_settings(meeting.id);
    if (!changes.locked && !changes.lobby) co_return before;
    Transaction transaction;
    Transaction::Ref ref = transaction.add(write::SetRoomSettings{meeting.id, changes.locked, changes.lobby});
    events::RoomSettingsChanged changed{meeting.id, before, {}, actor.id()};
    deps_.events.stage(changed, transaction, ref);
    Committed done = co_await deps_.store.commit(std::move(transaction));
    changed.after = done.take<RoomSettings>(ref);
    if (changed.after.locked != before.locked || changed.after.lobby != before.lobby) deps_.events.publish(changed);
    RoomSettings out = changed.after;
    out.banned = std::move(before.banned);
    co_return out;
}

Task<Outcome<Moderation>> RoomControl::moderate(const Actor& actor, const Meeting& meeting, Id target,
                                                ModerationAction action) {
    if (!may_moderate(actor, meeting)) co_return Refusal::forbidden();
    if (target == actor.id()) co_return Refusal::invalid("user", "A moderator cannot act on themselves.");
    auto user = co_await deps_.store.find_user(target);
    if (!user) co_return Refusal::not_found();
    // Someone of this meeting, never a user it has nothing to do with.
    RoomPresence::Found present;
    if (deps_.presence) present = co_await deps_.presence->find(meeting.id, target);
    bool known = target == meeting.user_id || present.in_room || present.waiting;
    if (!known) known = (co_await deps_.store.find_participant_state(meeting.id, target)).has_value();
    if (!known) {
        RoomEntry entry = co_await deps_.store.find_room_entry(meeting.room_id, target);
        known = entry.banned || entry.admitted;
    }
    if (!known) co_return Refusal::not_found();

    if (auto flag = flag_of(action)) {
        Transaction transaction;
        Transaction::Ref ref = transaction.add(write::SetParticipantFlags{meeting.id, target, {*flag}});
        deps_.events.stage(events::ParticipantStateChanged{{}, actor.id()}, transaction, ref);
        Committed done = co_await deps_.store.commit(std::move(transaction));
        events::ParticipantStateChanged changed{done.take<ParticipantState>(ref), actor.id()};
        deps_.events.publish(changed);
        co_return Moderation{std::move(changed.state), {}};
    }
    Transaction transaction;
    switch (action) {
        case ModerationAction::kick: {
            if (target == meeting.user_id) co_return Refusal::invalid("user", "The meeting's owner cannot be removed.");
            transaction.add(write::BanFromRoom{meeting.id, target, actor.id()});
            events::ParticipantKicked kicked{meeting.id, target, actor.id()};
            deps_.events.stage(kicked, transaction, std::nullopt);
            co_await deps_.store.commit(std::move(transaction));
            deps_.events.publish(kicked);
            co_return Moderation{std::nullopt, "User removed from the meeting."};
        }
        case ModerationAction::unban: {
            transaction.add(write::UnbanFromRoom{meeting.id, target});
            events::ParticipantUnbanned unbanned{meeting.id, target, actor.id()};
            deps_.events.stage(unbanned, transaction, std::nullopt);
            co_await deps_.store.commit(std::move(transaction));
            deps_.events.publish(unbanned);
            co_return Moderation{std::nullopt, "User may join the meeting again."};
        }
        case ModerationAction::admit: {
            transaction.add(write::AdmitToRoom{meeting.id, target, actor.id()});
            events::LobbyDecided admitted{meeting.id, target, actor.id(), true};
            deps_.events.stage(admitted, transaction, std::nullopt);
            co_await deps_.store.commit(std::move(transaction));
            deps_.events.publish(admitted);
            co_return Moderation{std::nullopt, "User admitted."};
        }
        case ModerationAction::deny: {
            if (!present.waiting) co_return Refusal::invalid("user", "This user is not waiting in the lobby.");
            events::LobbyDecided denied{meeting.id, target, actor.id(), false};
            deps_.events.publish(denied);
            co_return Moderation{std::nullopt, "User denied."};
        }
        default: co_return Refusal::invalid("action", "Unknown action.");
    }
}

}  // namespace castera::services
