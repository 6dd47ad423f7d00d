#include "realtime/room_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

#include "observe/log.hpp"
#include "realtime/frames.hpp"
#include "util/time.hpp"
#include "util/validate.hpp"
#include "validation/fields.hpp"

namespace castera::realtime {
namespace {

namespace asio = boost::asio;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A sender this far ahead of the store stops reading until it catches up.
constexpr std::size_t kMaxWaitingChats = 1024;

bool is_blank(std::string_view s) { return s.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos; }

const boost::json::value* member(const boost::json::object& o, std::string_view name) { return o.if_contains(name); }

// The text of a compatible chat frame, or the close code that refuses it.
std::optional<std::string> read_chat_text(std::string_view text, std::uint16_t& close_code) {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(text, ec);
    if (ec) {
        close_code = kCloseInvalidJson;
        return std::nullopt;
    }
    const auto* object = value.if_object();
    const auto* message = object ? object->if_contains("message") : nullptr;
    // Text the API would refuse ("Not a valid string.": a NUL character) is no chat either.
    if (!message || !message->is_string() || !is_valid_utf8(message->get_string())) {
        close_code = kCloseUnsupported;
        return std::nullopt;
    }
    return std::string(message->get_string());
}

// The payload a signal of this type must carry: an SDP for offers and answers, a candidate
// (a string, empty or null at the end of candidates) for ICE.
bool signal_data_is_valid(std::string_view type, const boost::json::object& data) {
    if (type == "offer" || type == "answer") {
        const auto* sdp = member(data, "sdp");
        return sdp && sdp->is_string() && !sdp->get_string().empty();
    }
    const auto* candidate = member(data, "candidate");
    return candidate && (candidate->is_string() || candidate->is_null());
}

std::optional<ParticipantFlag> flag_named(std::string_view name) {
    if (name == "audio_muted") return ParticipantFlag::audio_muted;
    if (name == "video_stopped") return ParticipantFlag::video_stopped;
    if (name == "in_call") return ParticipantFlag::in_call;
    if (name == "raised_hand") return ParticipantFlag::raised_hand;
    if (name == "screen_sharing") return ParticipantFlag::screen_sharing;
    return std::nullopt;
}

}  // namespace

// A sender's chats on their way to the store. The reader does not wait for each one: while a
// group is being stored, the chats read meanwhile wait here and go to the store together next
// (one commit for a burst instead of one each), and each is published, in the order it came,
// once stored. Shared by the reader and the coroutine that stores, so that neither points into
// the other's frame when a loop shutting down destroys them in any order.
struct RoomSession::ChatQueue {
    std::vector<std::string> waiting;
    bool storing = false;                  // a coroutine is storing and publishing
    bool admitting = false;                // a coroutine lets the session in from the lobby
    asio::steady_timer* reader = nullptr;  // the reader, waiting for the queue to shrink

    void wake_reader() {
        if (reader) reader->cancel();
    }
};

Task<void> RoomSession::wait_for_chats(ChatQueue& chats) {
    asio::steady_timer timer(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    struct Waiting {
        ChatQueue& queue;
        ~Waiting() { queue.reader = nullptr; }
    } waiting{chats};
    chats.reader = &timer;
    co_await timer.async_wait(use_tuple);
}

RoomSession::RoomSession(RoomDeps& deps, std::shared_ptr<SessionPeer> peer, const User& user, const Meeting& meeting)
    : deps_(deps),
      peer_(std::move(peer)),
      user_(user),
      meeting_(meeting),
      tokens_(deps.limits.message_burst),
      refilled_(std::chrono::steady_clock::now()) {}

RoomSession::~RoomSession() = default;

// A token bucket: `messages_per_second` frames a second on average, `message_burst` at once.
bool RoomSession::take_message_token() {
    auto now = std::chrono::steady_clock::now();
    double burst = deps_.limits.message_burst;
    tokens_ = std::min(burst, tokens_ + std::chrono::duration<double>(now - refilled_).count() *
                                            deps_.limits.messages_per_second);
    refilled_ = now;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
}

void RoomSession::send_error(std::string_view code, std::string_view message) { peer_->send(error_frame(code, message)); }

Task<void> RoomSession::enter() {
    deps_.bus.joined(meeting_.id, *peer_);
    if (peer_->typed) co_await send_welcome();
    deps_.bus.presence(meeting_.id, "joined", *peer_, peer_.get());
    in_room_ = true;
    co_await announce_arrival();
}

void RoomSession::wait_in_lobby() {
    waiting_ = true;
    deps_.bus.waiting(meeting_.id, *peer_);
    peer_->send_welcome(lobby_frame("waiting"));
    deps_.bus.broadcast(meeting_.id, lobby_request_event(*peer_));
}

Task<void> RoomSession::resume(std::vector<Frame> kept) {
    in_room_ = true;  // it was: the room saw no `left`, and sees no `joined`
    co_await build_welcome(true, std::move(kept));
}

Task<void> RoomSession::send_welcome() { co_await build_welcome(false, {}); }

// Everything but the local members is read after the connection joined the hub (and its
// room's channel): a change made meanwhile is either in the welcome or queued behind it.
Task<void> RoomSession::build_welcome(bool resumed, std::vector<Frame> kept) {
    bool moderator = peer_->moderator;
    RoomBus::RemoteRoom remote;
    if (deps_.bus.spans_instances()) remote = co_await deps_.bus.remote_room(meeting_.id, moderator);
    // A resumed connection had the history: what it missed comes as the kept frames.
    RoomSnapshot snapshot = co_await deps_.services.rooms.snapshot(meeting_, resumed ? 0 : deps_.limits.history_messages);
    auto peers = deps_.hub.members(meeting_.id);
    std::vector<PeerInfo> lobby;
    if (moderator) {
        for (const auto& w : deps_.hub.waiting(meeting_.id)) lobby.push_back(PeerInfo{w->peer_id, w->user_id, w->email});
        lobby.insert(lobby.end(), remote.waiting.begin(), remote.waiting.end());
    }
    std::string token;
    if (deps_.limits.resume_window.count() > 0) token = deps_.hub.resume_tokens().issue(meeting_.id, peer_);
    WelcomeParts parts{.self = *peer_,
                       .meeting = meeting_,
                       .peers = peers,
                       .remote = remote.members,
                       .snapshot = snapshot,
                       .ice = deps_.ice,
                       .resume_token = token,
                       .resumed = resumed,
                       .lobby = moderator ? &lobby : nullptr};
    peer_->send_welcome(welcome_frame(parts), std::move(kept));
}

void RoomSession::act(const RoomAction& action) {
    using Kind = RoomAction::Kind;
    switch (action.kind) {
        case Kind::kick:
            if (peer_->typed) peer_->send(kicked_frame(action.by));
            peer_->close_after_queue(kCloseRemoved, "removed from the meeting");
            break;
        case Kind::deny:
            if (!waiting_) break;
            peer_->send(lobby_frame("denied"));
            peer_->close_after_queue(kCloseRemoved, "not admitted to the meeting");
            break;
        case Kind::admit:
        case Kind::open_lobby: {
            if (!waiting_) break;
            if (!chats_) chats_ = std::make_shared<ChatQueue>();
            if (chats_->admitting) break;
            chats_->admitting = true;
            asio::co_spawn(peer_->loop, admit_from_lobby(*this), asio::detached);
            break;
        }
        case Kind::release: break;  // the connection's own business (ws_session)
    }
}

// Out of the lobby, into the room, as enter() does. The reader waits for it in finish().
Task<void> RoomSession::admit_from_lobby(RoomSession& s) {
    std::shared_ptr<ChatQueue> work = s.chats_;
    struct Done {
        std::shared_ptr<ChatQueue> work;
        ~Done() {
            work->admitting = false;
            work->wake_reader();
        }
    } done{work};
    if (!s.deps_.hub.admit(s.meeting_.id, s.peer_.get())) co_return;
    s.waiting_ = false;
    // Held (before anything can reach it), so that nothing of the room comes before its welcome.
    s.peer_->hold_for_welcome();
    s.deps_.bus.admitted(s.meeting_.id, *s.peer_);
    try {
        co_await s.send_welcome();
    } catch (const std::exception& e) {
        s.deps_.counters.errors_logged.add();
        log::warning("room", "a welcome from the lobby failed", {{"meeting", s.meeting_.id}, {"error", e.what()}});
        s.peer_->close_now(kCloseServerError, "internal error");
        co_return;
    }
    s.deps_.bus.presence(s.meeting_.id, "joined", *s.peer_, s.peer_.get());
    s.in_room_ = true;
    co_await s.announce_arrival();
}

bool RoomSession::leave() {
    deps_.hub.resume_tokens().forget(peer_.get());
    deps_.hub.leave(meeting_.id, peer_.get());
    deps_.bus.left(meeting_.id, *peer_);
    if (in_room_) {
        deps_.bus.presence(meeting_.id, "left", *peer_);
        in_room_ = false;
        return true;
    }
    if (waiting_) {
        deps_.bus.broadcast(meeting_.id, lobby_left_event(*peer_));
        waiting_ = false;
    }
    return false;
}

// Connections to the room but this one, here and (with Redis) on the other instances.
Task<RoomSession::Presence> RoomSession::others_in_room() {
    Presence out;
    for (const auto& member : deps_.hub.members(meeting_.id)) {
        if (member->peer_id == peer_->peer_id) continue;
        ++(member->user_id == user_.id ? out.mine : out.others);
    }
    if (!deps_.bus.spans_instances()) co_return out;
    std::vector<PeerInfo> remote = co_await deps_.bus.remote_members(meeting_.id);
    for (const PeerInfo& peer : remote) ++(peer.user_id == user_.id ? out.mine : out.others);
    co_return out;
}

Task<void> RoomSession::announce_arrival() {
    if (!deps_.announce_presence) co_return;
    try {
        Presence present = co_await others_in_room();
        if (present.mine > 0) co_return;
        co_await deps_.services.participants.arrived(user_, meeting_, present.others == 0);
    } catch (const std::exception& e) {
        deps_.counters.errors_logged.add();
        log::warning("room", "an arrival was not announced", {{"meeting", meeting_.id}, {"error", e.what()}});
    }
}

Task<void> RoomSession::announce_departure() {
    if (!deps_.announce_presence) co_return;
    try {
        Presence present = co_await others_in_room();
        if (present.mine > 0) co_return;
        co_await deps_.services.participants.departed(user_, meeting_);
    } catch (const std::exception& e) {
        deps_.counters.errors_logged.add();
        log::warning("room", "a departure was not announced", {{"meeting", meeting_.id}, {"error", e.what()}});
    }
}

Task<void> RoomSession::on_message(std::string_view payload, bool text) {
    deps_.counters.ws_frames_received.add();
    if (!text) {
        if (peer_->typed) send_error("invalid_frame", "binary frames are not supported");
        else peer_->close_now(kCloseUnsupported, "binary frames are not supported");
        co_return;
    }
    if (!take_message_token()) {
        deps_.counters.ws_dropped_rate_limit.add();
        if (peer_->typed) send_error("rate_limited", "too many frames; this one was dropped");
        else peer_->close_now(kClosePolicy, "message rate limit exceeded");
        co_return;
    }
    if (peer_->typed) co_await on_typed_frame(payload);
    else co_await on_compat_frame(payload);
}

// Stores and publishes the waiting chats, group after group, until none is left; chats read
// before the connection began to close are stored too. A store failure ends the connection
// (1011), as it did when each chat was stored in turn. The session outlives it: the reader
// waits for it (finish) before the session ends.
Task<void> RoomSession::store_waiting_chats(RoomSession& s, std::shared_ptr<ChatQueue> chats) {
    // Also on an exception: the reader must not wait for a coroutine that is gone.
    struct Done {
        std::shared_ptr<ChatQueue> chats;
        ~Done() {
            chats->storing = false;
            chats->wake_reader();
        }
    } done{chats};
    while (!chats->waiting.empty()) {
        std::vector<std::string> group = std::exchange(chats->waiting, {});
        chats->wake_reader();
        std::string failure;
        try {
            auto stored = co_await s.deps_.services.chats.post(s.user_, s.meeting_, std::move(group),
                                                              services::ChatChannel::room);
            if (!stored) failure = "refused: " + stored.refusal().detail;
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (!failure.empty()) {
            s.deps_.counters.db_errors.add();
            log::warning("room", "a chat could not be stored; the connection is closed",
                         {{"meeting", s.meeting_.id}, {"peer", s.peer_->peer_id}, {"error", failure}});
            chats->waiting.clear();
            s.peer_->close_now(kCloseServerError, "the database is unavailable");
            co_return;
        }
    }
}

Task<void> RoomSession::queue_chat(std::string content) {
    if (!chats_) chats_ = std::make_shared<ChatQueue>();
    ChatQueue& chats = *chats_;
    chats.waiting.push_back(std::move(content));
    if (!chats.storing) {
        chats.storing = true;
        asio::co_spawn(co_await asio::this_coro::executor, store_waiting_chats(*this, chats_), asio::detached);
    }
    while (chats.storing && chats.waiting.size() >= kMaxWaitingChats) co_await wait_for_chats(chats);
}

Task<void> RoomSession::finish() {
    if (!chats_) co_return;
    std::shared_ptr<ChatQueue> chats = chats_;
    while (chats->storing || chats->admitting) co_await wait_for_chats(*chats);
}

// The old server's protocol: {"message": "..."} in; anything else closes the connection.
Task<void> RoomSession::on_compat_frame(std::string_view text) {
    std::uint16_t close_code = 0;
    auto content = read_chat_text(text, close_code);
    if (!content) {
        peer_->close_now(close_code, close_code == kCloseInvalidJson ? "invalid JSON" : "expected {\"message\": \"...\"}");
        co_return;
    }
    if (is_blank(*content)) co_return;
    co_await queue_chat(std::move(*content));
}

Task<void> RoomSession::on_typed_chat(const boost::json::object& frame) {
    const auto* content = member(frame, "content");
    if (!content) content = member(frame, "message");
    if (!content || !content->is_string() || is_blank(content->get_string()) ||
        !is_valid_utf8(content->get_string())) {
        send_error("invalid_chat", "a chat frame needs a non-blank \"content\" string without NUL characters");
        co_return;
    }
    if (member(frame, "to")) {
        co_await on_private_chat(frame, std::string(content->get_string()));
        co_return;
    }
    co_await queue_chat(std::string(content->get_string()));
}

// To one peer (wherever it is connected) and back to the sender; never stored.
Task<void> RoomSession::on_private_chat(const boost::json::object& frame, std::string content) {
    const auto* to = member(frame, "to");
    if (!to->is_string() || to->get_string().empty() || to->get_string() == peer_->peer_id) {
        send_error("unknown_peer", "\"to\" must name another peer of this room");
        co_return;
    }
    std::string addressee(to->get_string());
    Frame chat = private_chat_frame(*peer_, addressee, content, now_utc());
    bool delivered = deps_.hub.send_to_peer(meeting_.id, addressee, chat);
    if (!delivered && deps_.bus.spans_instances())
        delivered = co_await deps_.bus.send_to_remote_peer(meeting_.id, addressee, chat);
    if (!delivered) {
        send_error("unknown_peer", "no peer " + addressee + " in this room");
        co_return;
    }
    peer_->send(chat);
}

Task<void> RoomSession::on_signal(const boost::json::object& frame) {
    const auto* to = member(frame, "to");
    const auto* type = member(frame, "signal_type");
    const auto* data = member(frame, "data");
    if (!type || !type->is_string() ||
        (type->get_string() != "offer" && type->get_string() != "answer" && type->get_string() != "ice")) {
        send_error("invalid_signal", "\"signal_type\" must be offer, answer or ice");
        co_return;
    }
    std::string_view signal_type = type->get_string();
    if (!data || !data->is_object() || !signal_data_is_valid(signal_type, data->get_object())) {
        send_error("invalid_signal", signal_type == "ice" ? "an ice signal needs data.candidate"
                                                          : "an offer or answer needs data.sdp");
        co_return;
    }
    // Kept as JSON below: what the databases cannot keep is refused before it is relayed.
    if (!validation::is_storable_json(*data)) {
        send_error("invalid_signal", "signal data may not hold NUL characters or numbers beyond a double's range");
        co_return;
    }
    if (!to || !to->is_string() || to->get_string() == peer_->peer_id) {
        send_error("unknown_peer", "\"to\" must name another peer of this room");
        co_return;
    }
    std::string data_json = boost::json::serialize(*data);
    Frame signal = signal_frame(*peer_, signal_type, data_json);
    bool delivered = deps_.hub.send_to_peer(meeting_.id, to->get_string(), signal);
    // Not here: the peer may be on another instance (one round trip to Redis, none otherwise).
    if (!delivered && deps_.bus.spans_instances()) {
        std::string peer(to->get_string());
        delivered = co_await deps_.bus.send_to_remote_peer(meeting_.id, std::move(peer), signal);
    }
    if (!delivered) {
        send_error("unknown_peer", "no peer " + std::string(to->get_string()) + " in this room");
        co_return;
    }
    // Kept as the meeting's signaling history (meetings_signal), after the relay so that
    // storage never delays a call's set-up.
    co_await deps_.services.participants.record_signal(user_, meeting_, std::string(signal_type), std::move(data_json));
}

// {"type":"participant_state","changes":{"audio_muted":true,...}}: the sender's own state
// only, every flag of the frame in one write.
Task<void> RoomSession::on_state_change(const boost::json::object& frame) {
    const auto* changes = member(frame, "changes");
    if (!changes || !changes->is_object() || changes->get_object().empty()) {
        send_error("invalid_state", "\"changes\" must be an object of flags");
        co_return;
    }
    FlagChanges updates;
    for (const auto& [name, value] : changes->get_object()) {
        auto flag = flag_named(name);
        if (!flag || !value.is_bool()) {
            send_error("invalid_state", "unknown flag or not a boolean: " + std::string(name));
            co_return;
        }
        updates.emplace_back(*flag, value.get_bool());
    }
    co_await deps_.services.participants.change_own(user_, meeting_, std::move(updates));
}

// {"type":"moderate","action":"mute_audio"|...,"user":<id>}: moderators only, on someone of
// this meeting other than themselves (services::RoomControl decides).
Task<void> RoomSession::on_moderate(const boost::json::object& frame) {
    if (!peer_->moderator) {
        send_error("forbidden", "only the meeting's moderators may moderate");
        co_return;
    }
    const auto* action_name = member(frame, "action");
    const auto* target = member(frame, "user");
    auto action = action_name && action_name->is_string()
                      ? services::moderation_action_named(action_name->get_string())
                      : std::nullopt;
    if (!action) {
        send_error("invalid_moderation", "\"action\" must be one of mute_audio, stop_video, stop_screen_share, "
                                         "lower_hand, kick, unban, admit, deny");
        co_return;
    }
    if (!target || !target->is_int64() || target->get_int64() <= 0) {
        send_error("invalid_moderation", "\"user\" must be a user id");
        co_return;
    }
    auto done = co_await deps_.services.rooms.moderate(user_, meeting_, target->get_int64(), *action);
    if (done) co_return;
    const services::Refusal& refusal = done.refusal();
    if (refusal.kind == services::Refusal::Kind::forbidden) {
        send_error("forbidden", "only the meeting's moderators may moderate");
    } else if (refusal.kind == services::Refusal::Kind::not_found) {
        send_error("invalid_moderation", "no user " + std::to_string(target->get_int64()) + " in this meeting");
    } else {
        std::string why = "this action cannot be done";
        for (const auto& [field, messages] : refusal.fields.entries())
            if (!messages.empty()) why = messages.front();
        send_error("invalid_moderation", why);
    }
}

// castera.v2: every frame is an object with a "type"; a bad frame gets an error frame and the
// connection stays open.
Task<void> RoomSession::on_typed_frame(std::string_view text) {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(text, ec);
    if (ec) {
        send_error("invalid_json", "the frame is not JSON");
        co_return;
    }
    const auto* frame = value.if_object();
    const auto* type = frame ? member(*frame, "type") : nullptr;
    if (!type || !type->is_string()) {
        send_error("invalid_frame", "a frame must be an object with a \"type\"");
        co_return;
    }
    std::string_view kind = type->get_string();
    if (waiting_ && kind != "ping") {
        send_error("in_lobby", "waiting in the lobby for a moderator to admit you");
        co_return;
    }
    if (kind == "chat") co_await on_typed_chat(*frame);
    else if (kind == "moderate") co_await on_moderate(*frame);
    else if (kind == "signal") co_await on_signal(*frame);
    else if (kind == "participant_state") co_await on_state_change(*frame);
    else if (kind == "ping") {
        const auto* id = member(*frame, "id");
        if (id && !validation::is_finite_json(*id)) {
            send_error("invalid_frame", "a ping's id cannot hold numbers beyond a double's range");
            co_return;
        }
        peer_->send(pong_frame(id ? boost::json::serialize(*id) : std::string()));
    } else {
        send_error("unknown_type", "unknown frame type: " + std::string(kind));
    }
}

}  // namespace castera::realtime
