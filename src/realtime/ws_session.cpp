#include "realtime/ws_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <optional>

#include "auth/authenticate.hpp"
#include "http/beast_io.hpp"
#include "http/responses.hpp"
#include "realtime/frames.hpp"
#include "realtime/ws_socket.hpp"
#include "util/random.hpp"

namespace castera::realtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Close codes (see docs/PROTOCOL.md).
constexpr std::uint16_t kCloseInvalidJson = 1007;   // compatible protocol: the frame is not JSON
constexpr std::uint16_t kCloseUnsupported = 1003;   // compatible protocol: not {"message": "..."}
constexpr std::uint16_t kClosePolicy = 1008;        // outbound queue overflow, or rate limit (compatible)
constexpr std::uint16_t kCloseServerError = 1011;   // the store failed under a chat

constexpr std::string_view kTypedProtocol = "castera.v2";

// One accepted WebSocket as its room sees it: frames for it are queued on its socket (bounded,
// so that a slow reader is dropped rather than holding up the room) and leave from its loop.
class Connection : public RoomMember, public std::enable_shared_from_this<Connection> {
public:
    Connection(std::shared_ptr<WsSocket> ws, const User& user, bool typed, const Config& config)
        : RoomMember("p_" + random_token(12), user.id, user.email, typed, ws->executor()),
          ws_(std::move(ws)),
          max_queue_(config.ws_max_queued_frames),
          rate_(config.ws_messages_per_second),
          burst_(config.ws_message_burst),
          tokens_(config.ws_message_burst),
          refilled_(std::chrono::steady_clock::now()) {}

    WsSocket& socket() { return *ws_; }

    // From the connection's own loop the frame is queued at once; from another loop it
    // travels as a handler.
    void deliver(Frame frame) override {
        if (loop.running_in_this_thread()) {
            enqueue(std::move(frame));
            return;
        }
        asio::post(loop, [self = shared_from_this(), frame = std::move(frame)]() mutable {
            self->enqueue(std::move(frame));
        });
    }

    void deliver_here(const Frame& frame) override { enqueue(frame); }

    void close_after_queue(std::uint16_t code, std::string reason) override {
        asio::post(loop, [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
            self->close(code, reason, true);
        });
    }

    // Must run on the connection's loop.
    void enqueue(const Frame& frame) {
        if (ws_->closing()) return;
        if (ws_->queued() >= max_queue_) {
            close(kClosePolicy, "outbound queue overflow: reading too slowly", false);
            return;
        }
        ws_->send(frame);
    }

    // Must run on the connection's loop. The close frame follows the queue when `drain`, goes
    // at once otherwise.
    void close(std::uint16_t code, std::string_view reason, bool drain) { ws_->close(code, reason, drain); }

    // castera.v2 starts with the welcome, but the connection is in its room (and receives)
    // while the welcome is being put together, which may wait on the store or on Redis: what
    // arrives meanwhile is kept behind it. Must run on the connection's loop.
    void hold_for_welcome() { ws_->hold(); }
    void send_welcome(Frame welcome) {
        ws_->send_first(std::move(welcome));
        ws_->release();
    }

    // A token bucket: `rate` frames a second on average, `burst` at once.
    bool take_message_token() {
        auto now = std::chrono::steady_clock::now();
        tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - refilled_).count() * rate_);
        refilled_ = now;
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

    // The session is over. A socket still open here lost its reader to an error of ours: it is
    // closed as a server error rather than left to the idle timeout.
    void end_session() {
        if (!ws_->closing()) ws_->close(kCloseServerError, "internal error", false);
    }

private:
    std::shared_ptr<WsSocket> ws_;
    std::size_t max_queue_;
    double rate_;
    double burst_;
    double tokens_;
    std::chrono::steady_clock::time_point refilled_;
};

// The room id from "/ws/meetings/<room_id>/" (the trailing slash optional).
bool room_from_path(std::string_view path, std::string& room_id) {
    constexpr std::string_view prefix = "/ws/meetings/";
    if (!path.starts_with(prefix)) return false;
    path.remove_prefix(prefix.size());
    if (path.ends_with('/')) path.remove_suffix(1);
    return parse_uuid(path, room_id);
}

struct Admission {
    std::optional<User> user;
    std::optional<Meeting> meeting;
    std::optional<http::Response> refusal;
};

// Decides, before the upgrade, whether this caller may join this room.
Task<Admission> admit(const http::Request& req, Loop& loop) {
    Admission out;
    std::string room_id;
    if (!room_from_path(req.path, room_id)) {
        out.refusal = http::error_response(404, http::kNotFound);
        co_return out;
    }
    // Browsers cannot set headers on a WebSocket: a token may come as ?access_token=.
    std::string access_token;
    http::query_param(req.query, "access_token", access_token);
    Authentication auth = co_await authenticate(req, loop, access_token);
    if (auth.failure) {
        out.refusal = std::move(auth.failure);
        co_return out;
    }
    if (!auth.user) {
        out.refusal = http::error_response(403, http::kNoCredentials);
        co_return out;
    }
    // A page of another site must not open a socket with the visitor's cookies.
    if (auth.method == AuthMethod::session && !origin_is_trusted(req, loop.app.config)) {
        out.refusal = http::error_response(403, "Origin not allowed.");
        co_return out;
    }
    auto meeting = co_await loop.store->find_meeting_by_room(room_id);
    if (!meeting) {
        out.refusal = http::error_response(404, "Meeting not found");
        co_return out;
    }
    if (meeting->status == "ended") {
        out.refusal = http::error_response(403, "This meeting has ended.");
        co_return out;
    }
    const Config& config = loop.app.config;
    if (loop.app.rooms.check(meeting->id, auth.user->id, config.ws_max_connections_per_room,
                             config.ws_max_connections_per_user) != RoomHub::Admission::allowed) {
        out.refusal = http::error_response(429, "Too many connections to this room or by this user.");
        co_return out;
    }
    out.user = std::move(auth.user);
    out.meeting = std::move(meeting);
    co_return out;
}

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
    if (!message || !message->is_string()) {
        close_code = kCloseUnsupported;
        return std::nullopt;
    }
    return std::string(message->get_string());
}

bool is_blank(std::string_view s) { return s.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos; }

// A sender's chats on their way to the store. The reader does not wait for each one: while a
// group is being stored, the chats read meanwhile wait here and go to the store together next
// (one commit for a burst instead of one each), and each is published, in the order it came,
// once stored. Shared by the reader and the coroutine that stores, so that neither points into
// the other's frame when a loop shutting down destroys them in any order.
struct ChatQueue {
    std::vector<std::string> waiting;
    bool storing = false;                    // a coroutine is storing and publishing
    asio::steady_timer* reader = nullptr;    // the reader, waiting for the queue to shrink

    void wake_reader() {
        if (reader) reader->cancel();
    }
};

// A sender this far ahead of the store stops reading until it catches up.
constexpr std::size_t kMaxWaitingChats = 1024;

// Everything one connection's frames need.
struct Session {
    Connection& conn;
    const User& user;
    const Meeting& meeting;
    Loop& loop;
    std::shared_ptr<ChatQueue> chats{};  // made with the first chat
};

// Stores and publishes the waiting chats, group after group, until none is left; chats read
// before the connection began to close are stored too. A store failure ends the connection
// (1011), as it did when each chat was stored in turn. The session outlives it: the reader
// waits for it (finish_chats) before the session ends.
Task<void> store_waiting_chats(Session& s, std::shared_ptr<ChatQueue> chats) {
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
        std::vector<Message> stored;
        bool failed = false;
        try {
            stored = co_await s.loop.store->create_messages(s.meeting.id, s.user.id, std::move(group));
        } catch (const std::exception&) {
            failed = true;
        }
        if (failed) {
            chats->waiting.clear();
            s.conn.close(kCloseServerError, "the database is unavailable", false);
            co_return;
        }
        for (const Message& message : stored) publish_message(s.loop.app, message);
    }
}

Task<void> wait_for_chats(ChatQueue& chats) {
    asio::steady_timer timer(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    struct Waiting {
        ChatQueue& chats;
        ~Waiting() { chats.reader = nullptr; }
    } waiting{chats};
    chats.reader = &timer;
    co_await timer.async_wait(use_tuple);
}

Task<void> store_and_publish_chat(Session& s, std::string content) {
    if (!s.chats) s.chats = std::make_shared<ChatQueue>();
    ChatQueue& chats = *s.chats;
    chats.waiting.push_back(std::move(content));
    if (!chats.storing) {
        chats.storing = true;
        asio::co_spawn(co_await asio::this_coro::executor, store_waiting_chats(s, s.chats), asio::detached);
    }
    while (chats.storing && chats.waiting.size() >= kMaxWaitingChats) co_await wait_for_chats(chats);
}

// Before the connection leaves its room: every chat it sent is stored and published.
Task<void> finish_chats(Session& s) {
    if (!s.chats) co_return;
    std::shared_ptr<ChatQueue> chats = s.chats;
    while (chats->storing) co_await wait_for_chats(*chats);
}

// The old server's protocol: {"message": "..."} in; anything else closes the connection.
Task<void> handle_compat_frame(Session& s, std::string_view text) {
    std::uint16_t close_code = 0;
    auto content = read_chat_text(text, close_code);
    if (!content) {
        s.conn.close(close_code, close_code == kCloseInvalidJson ? "invalid JSON" : "expected {\"message\": \"...\"}",
                     false);
        co_return;
    }
    if (is_blank(*content)) co_return;
    co_await store_and_publish_chat(s, std::move(*content));
}

void send_error(Session& s, std::string_view code, std::string_view message) {
    s.conn.enqueue(error_frame(code, message));
}

const boost::json::value* member(const boost::json::object& o, std::string_view name) { return o.if_contains(name); }

Task<void> handle_typed_chat(Session& s, const boost::json::object& frame) {
    const auto* content = member(frame, "content");
    if (!content) content = member(frame, "message");
    if (!content || !content->is_string() || is_blank(content->get_string())) {
        send_error(s, "invalid_chat", "a chat frame needs a non-blank \"content\" string");
        co_return;
    }
    co_await store_and_publish_chat(s, std::string(content->get_string()));
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

Task<void> handle_signal(Session& s, const boost::json::object& frame) {
    const auto* to = member(frame, "to");
    const auto* type = member(frame, "signal_type");
    const auto* data = member(frame, "data");
    if (!type || !type->is_string() ||
        (type->get_string() != "offer" && type->get_string() != "answer" && type->get_string() != "ice")) {
        send_error(s, "invalid_signal", "\"signal_type\" must be offer, answer or ice");
        co_return;
    }
    std::string_view signal_type = type->get_string();
    if (!data || !data->is_object() || !signal_data_is_valid(signal_type, data->get_object())) {
        send_error(s, "invalid_signal", signal_type == "ice" ? "an ice signal needs data.candidate"
                                                             : "an offer or answer needs data.sdp");
        co_return;
    }
    if (!to || !to->is_string() || to->get_string() == s.conn.peer_id) {
        send_error(s, "unknown_peer", "\"to\" must name another peer of this room");
        co_return;
    }
    std::string data_json = boost::json::serialize(*data);
    Frame signal = signal_frame(s.conn, signal_type, data_json);
    bool delivered = s.loop.app.rooms.send_to_peer(s.meeting.id, to->get_string(), signal);
    // Not here: the peer may be on another instance (one round trip to Redis, none otherwise).
    if (!delivered && s.loop.app.bus->spans_instances()) {
        std::string peer(to->get_string());
        delivered = co_await s.loop.app.bus->send_to_remote_peer(s.meeting.id, std::move(peer), signal);
    }
    if (!delivered) {
        send_error(s, "unknown_peer", "no peer " + std::string(to->get_string()) + " in this room");
        co_return;
    }
    // Kept as the meeting's signaling history (meetings_signal), after the relay so that
    // storage never delays a call's set-up.
    co_await s.loop.store->create_signal(s.meeting.id, s.user.id, std::string(signal_type), std::move(data_json));
}

std::optional<ParticipantFlag> flag_named(std::string_view name) {
    if (name == "audio_muted") return ParticipantFlag::audio_muted;
    if (name == "video_stopped") return ParticipantFlag::video_stopped;
    if (name == "in_call") return ParticipantFlag::in_call;
    if (name == "raised_hand") return ParticipantFlag::raised_hand;
    if (name == "screen_sharing") return ParticipantFlag::screen_sharing;
    return std::nullopt;
}

// {"type":"participant_state","changes":{"audio_muted":true,...}}: the sender's own state only.
Task<void> handle_state_change(Session& s, const boost::json::object& frame) {
    const auto* changes = member(frame, "changes");
    if (!changes || !changes->is_object() || changes->get_object().empty()) {
        send_error(s, "invalid_state", "\"changes\" must be an object of flags");
        co_return;
    }
    std::vector<std::pair<ParticipantFlag, bool>> updates;
    for (const auto& [name, value] : changes->get_object()) {
        auto flag = flag_named(name);
        if (!flag || !value.is_bool()) {
            send_error(s, "invalid_state", "unknown flag or not a boolean: " + std::string(name));
            co_return;
        }
        updates.emplace_back(*flag, value.get_bool());
    }
    std::optional<ParticipantState> state;
    for (auto [flag, value] : updates)
        state = co_await s.loop.store->set_participant_flag(s.meeting.id, s.user.id, flag, value);
    publish_participant_state(s.loop.app, *state);
}

// castera.v2: every frame is an object with a "type"; a bad frame gets an error frame and the
// connection stays open.
Task<void> handle_typed_frame(Session& s, std::string_view text) {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(text, ec);
    if (ec) {
        send_error(s, "invalid_json", "the frame is not JSON");
        co_return;
    }
    const auto* frame = value.if_object();
    const auto* type = frame ? member(*frame, "type") : nullptr;
    if (!type || !type->is_string()) {
        send_error(s, "invalid_frame", "a frame must be an object with a \"type\"");
        co_return;
    }
    std::string_view kind = type->get_string();
    if (kind == "chat") co_await handle_typed_chat(s, *frame);
    else if (kind == "signal") co_await handle_signal(s, *frame);
    else if (kind == "participant_state") co_await handle_state_change(s, *frame);
    else if (kind == "ping") {
        const auto* id = member(*frame, "id");
        s.conn.enqueue(pong_frame(id ? boost::json::serialize(*id) : std::string()));
    } else {
        send_error(s, "unknown_type", "unknown frame type: " + std::string(kind));
    }
}

// Reads messages until the connection ends (the socket answers pings and closes itself).
Task<void> read_loop(Session& s) {
    WsSocket& ws = s.conn.socket();
    while (auto message = co_await ws.read()) {
        if (!message->text) {
            if (s.conn.typed) send_error(s, "invalid_frame", "binary frames are not supported");
            else s.conn.close(kCloseUnsupported, "binary frames are not supported", false);
            continue;
        }
        if (!s.conn.take_message_token()) {
            if (s.conn.typed) send_error(s, "rate_limited", "too many frames; this one was dropped");
            else s.conn.close(kClosePolicy, "message rate limit exceeded", false);
            continue;
        }
        if (s.conn.typed) co_await handle_typed_frame(s, message->payload);
        else co_await handle_compat_frame(s, message->payload);
    }
}

// True when the client offered castera.v2 in Sec-WebSocket-Protocol.
bool wants_typed_protocol(const http::BeastRequest& req) {
    std::string_view offered = req[beast::http::field::sec_websocket_protocol];
    while (!offered.empty()) {
        std::size_t comma = offered.find(',');
        std::string_view item = offered.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item == kTypedProtocol) return true;
        offered = comma == std::string_view::npos ? std::string_view{} : offered.substr(comma + 1);
    }
    return false;
}

// The upgrade's answer by Beast: 101 with our headers, or its refusal of a malformed
// handshake. The socket is ours (WsSocket) afterwards: Beast's stream lives only for this.
Task<std::optional<asio::ip::tcp::socket>> accept_upgrade(asio::ip::tcp::socket socket,
                                                          const http::BeastRequest& req, bool typed) {
    websocket::stream<asio::ip::tcp::socket> ws(std::move(socket));
    ws.set_option(websocket::stream_base::decorator([typed](websocket::response_type& res) {
        res.set(beast::http::field::server, "castera");
        if (typed) res.set(beast::http::field::sec_websocket_protocol, kTypedProtocol);
    }));
    auto [ec] = co_await ws.async_accept(req, use_tuple);
    if (ec) co_return std::nullopt;
    co_return std::optional<asio::ip::tcp::socket>(std::move(ws.next_layer()));
}

Task<void> send_welcome(Session& s) {
    auto peers = s.loop.app.rooms.members(s.meeting.id);
    std::vector<PeerInfo> remote;
    if (s.loop.app.bus->spans_instances()) remote = co_await s.loop.app.bus->remote_members(s.meeting.id);
    auto states = co_await s.loop.store->list_participant_states(s.meeting.id);
    s.conn.send_welcome(welcome_frame(s.conn, s.meeting, peers, remote, states));
}

}  // namespace

Task<void> serve_websocket(beast::tcp_stream&& stream, http::BeastRequest&& req, std::string remote, Loop& loop) {
    http::Request view = http::make_request_view(req, remote);
    Admission admission;
    try {
        admission = co_await admit(view, loop);
    } catch (const StoreUnavailable&) {
        admission.refusal = http::error_response(503, "The database is unavailable; try again shortly.");
    }
    if (admission.refusal) {
        co_await http::write_response(stream, std::move(*admission.refusal), req.version(), false);
        beast::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        co_return;
    }
    const Config& config = loop.app.config;
    bool typed = wants_typed_protocol(req);
    auto socket = co_await accept_upgrade(stream.release_socket(), req, typed);
    if (!socket) co_return;
    req = {};  // its header fields would otherwise stay for the whole session

    const User& user = *admission.user;
    const Meeting& meeting = *admission.meeting;
    WsSocket::Options options{.max_message = config.ws_max_frame_bytes,
                              .idle_timeout = config.ws_idle_timeout,
                              .max_queued = config.ws_max_queued_frames};
    auto ws = std::make_shared<WsSocket>(std::move(*socket), loop.io.get_executor(), options);
    ws->start();
    auto conn = std::make_shared<Connection>(std::move(ws), user, typed, config);
    ++loop.app.open_websockets;
    RoomHub& rooms = loop.app.rooms;
    if (typed) conn->hold_for_welcome();
    if (rooms.join(meeting.id, conn, config.ws_max_connections_per_room, config.ws_max_connections_per_user) !=
        RoomHub::Admission::allowed) {
        conn->close(kCloseTooManyConnections, "too many connections", false);
    } else {
        RoomBus& bus = *loop.app.bus;
        bus.joined(meeting.id, *conn);
        Session session{*conn, user, meeting, loop};
        try {
            if (typed) co_await send_welcome(session);
            bus.presence(meeting.id, "joined", *conn, conn.get());
            co_await read_loop(session);
        } catch (const std::exception&) {
            // A store failure mid-session ends this connection only.
        }
        co_await finish_chats(session);
        rooms.leave(meeting.id, conn.get());
        bus.left(meeting.id, *conn);
        bus.presence(meeting.id, "left", *conn);
    }
    conn->end_session();
    --loop.app.open_websockets;
}

}  // namespace castera::realtime
