#include "realtime/ws_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>

#include "http/beast_io.hpp"
#include "http/responses.hpp"
#include "observe/log.hpp"
#include "realtime/frames.hpp"
#include "realtime/ws_socket.hpp"
#include "util/async_reply.hpp"
#include "util/encoding.hpp"
#include "util/random.hpp"

namespace castera::realtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view kTypedProtocol = "castera.v2";

// What a dropped connection hands to the one that resumes it.
struct HandOver {
    bool ok = false;
    std::vector<Frame> kept;
};

// One accepted WebSocket as its room sees it: frames for it are queued on its socket (bounded,
// so that a slow reader is dropped rather than holding up the room) and leave from its loop.
//
// A castera.v2 connection in the room that is lost without a close frame is held for the
// resume window: it stays in the room (nobody sees it leave) and keeps what is sent to it, up
// to the queue's limit, until a new connection presenting its resume token takes its place
// (hand_over) or the window ends. Everything about that state happens on the connection's loop.
class Connection final : public SessionPeer, public std::enable_shared_from_this<Connection> {
public:
    enum class State {
        live,         // its socket serves it
        held,         // dropped; keeping its frames for a resume
        handed_over,  // resumed: its successor is the peer now, stragglers go there
        ended,        // dropped and not resumed, or closed
    };

    Connection(std::shared_ptr<WsSocket> ws, const User& user, bool typed, bool moderator, std::string peer_id,
               const RoomLimits& limits, LoopCounters& counters)
        : SessionPeer(std::move(peer_id), user.id, user.email, typed, ws->executor(), moderator),
          ws_(std::move(ws)),
          max_queue_(limits.max_queued_frames),
          resume_window_(limits.resume_window),
          counters_(counters),
          hold_timer_(ws_->executor()) {}

    WsSocket& socket() { return *ws_; }
    const std::shared_ptr<WsSocket>& socket_handle() const { return ws_; }
    State state() const { return state_; }
    void attach(RoomSession* session) { session_ = session; }

    // From the connection's own loop the frame is queued at once; from another loop it
    // travels as a handler.
    void deliver(Frame frame) override {
        if (loop.running_in_this_thread()) {
            send(frame);
            return;
        }
        asio::post(loop, [self = shared_from_this(), frame = std::move(frame)]() mutable { self->send(frame); });
    }

    void deliver_here(const Frame& frame) override { send(frame); }

    void close_after_queue(std::uint16_t code, std::string reason) override {
        asio::post(loop, [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
            if (self->state_ == State::handed_over) return self->successor_->close_after_queue(code, std::move(reason));
            self->no_resume_ = true;
            if (self->state_ == State::held) return self->end_hold();
            self->ws_->close(code, reason, true);
        });
    }

    void act(const RoomAction& action) override {
        asio::post(loop, [self = shared_from_this(), action] { self->act_here(action); });
    }

    // Must run on the connection's loop.
    void send(const Frame& frame) override {
        if (state_ != State::live) return keep(frame);
        if (ws_->closing()) {
            if (ws_->dropped() && resumable()) {
                enter_held();
                keep(frame);
            }
            return;
        }
        if (ws_->queued() >= max_queue_) {
            counters_.ws_dropped_slow_reader.add();
            close_now(kClosePolicy, "outbound queue overflow: reading too slowly");
            return;
        }
        ws_->send(frame);
    }

    void close_now(std::uint16_t code, std::string_view reason) override {
        no_resume_ = true;
        ws_->close(code, reason, false);
    }

    // castera.v2 starts with the welcome, but the connection is in its room (and receives)
    // while the welcome is being put together, which may wait on the store or on Redis: what
    // arrives meanwhile is kept behind it. Must run on the connection's loop.
    void hold_for_welcome() override { ws_->hold(); }
    void send_welcome(Frame welcome, std::vector<Frame> kept) override {
        // Each goes before the frames not yet begun: the kept ones in reverse, then the welcome.
        for (auto it = kept.rbegin(); it != kept.rend(); ++it) ws_->send_first(std::move(*it));
        welcome_ = welcome.get();
        ws_->send_first(std::move(welcome));
        ws_->release();
    }

    // Whether the end of the connection's reading leaves it to be resumed: held for the window.
    bool holdable() {
        if (state_ == State::live && ws_->dropped() && resumable()) enter_held();
        return state_ == State::held;
    }

    // Waits until the connection is resumed or the window is over (then it has ended).
    Task<void> wait_for_resume() {
        hold_timer_.expires_after(resume_window_);
        (void)co_await hold_timer_.async_wait(use_tuple);
        if (state_ == State::held) end_hold();
    }

    // On this connection's loop: a resume takes its place in the room, with the frames it kept.
    // A connection the server had not yet seen drop is dropped now (its client reconnected).
    void hand_over(Id meeting, RoomHub& hub, const std::shared_ptr<Connection>& successor, Reply<HandOver> reply) {
        if (state_ == State::live && resumable()) {
            ws_->drop();
            enter_held();
        }
        if (state_ != State::held || !hub.replace(meeting, this, successor)) return reply(HandOver{});
        state_ = State::handed_over;
        successor_ = successor;
        hold_timer_.cancel();
        reply(HandOver{true, std::exchange(kept_, {})});
    }

    // The session is over. A socket still open here lost its reader to an error of ours: it is
    // closed as a server error rather than left to the idle timeout.
    void end_session() {
        session_ = nullptr;
        if (!ws_->closing()) ws_->close(kCloseServerError, "internal error", false);
    }

private:
    // Only a castera.v2 connection that was in the room (welcomed) can be resumed, and only
    // when it was lost rather than closed by either side.
    bool resumable() const {
        return typed && resume_window_.count() > 0 && !no_resume_ && session_ && session_->in_room();
    }

    void enter_held() {
        state_ = State::held;
        kept_ = ws_->take_unsent();
        std::erase_if(kept_, [&](const Frame& f) { return f.get() == welcome_; });
    }

    void keep(const Frame& frame) {
        switch (state_) {
            case State::handed_over: successor_->deliver(frame); return;
            case State::held:
                if (kept_.size() >= max_queue_) return end_hold();  // past the queue's limit: it leaves
                kept_.push_back(frame);
                return;
            default: return;
        }
    }

    // The hold is over without a resume: the room sees it leave (its coroutine says so).
    void end_hold() {
        if (state_ != State::held) return;
        state_ = State::ended;
        kept_ = {};
        hold_timer_.cancel();
    }

    void act_here(const RoomAction& action) {
        if (state_ == State::handed_over) return successor_->act(action);
        bool ends_resume = action.kind == RoomAction::Kind::kick || action.kind == RoomAction::Kind::release;
        if (state_ == State::held) {
            if (ends_resume) end_hold();
            return;
        }
        if (state_ != State::live) return;
        if (ends_resume) no_resume_ = true;
        if (action.kind == RoomAction::Kind::release) {
            // Its token was presented on another instance: this one is gone, the room is told.
            ws_->drop();
            return;
        }
        if (session_) session_->act(action);
    }

    std::shared_ptr<WsSocket> ws_;
    std::size_t max_queue_;
    std::chrono::seconds resume_window_;
    LoopCounters& counters_;
    RoomSession* session_ = nullptr;
    State state_ = State::live;
    bool no_resume_ = false;  // closed by either side, kicked, or its token used elsewhere
    const std::string* welcome_ = nullptr;  // identity of the welcome, never dereferenced
    std::vector<Frame> kept_;
    asio::steady_timer hold_timer_;
    std::shared_ptr<Connection> successor_;
};

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
                                                          const http::BeastRequest& req, bool typed,
                                                          std::string request_id) {
    websocket::stream<asio::ip::tcp::socket> ws(std::move(socket));
    ws.set_option(websocket::stream_base::decorator([typed, request_id](websocket::response_type& res) {
        res.set(beast::http::field::server, "castera");
        res.set("X-Request-ID", request_id);
        if (typed) res.set(beast::http::field::sec_websocket_protocol, kTypedProtocol);
    }));
    auto [ec] = co_await ws.async_accept(req, use_tuple);
    if (ec) co_return std::nullopt;
    co_return std::optional<asio::ip::tcp::socket>(std::move(ws.next_layer()));
}

Task<void> refuse(beast::tcp_stream& stream, const http::BeastRequest& req, http::Response refusal,
                  std::string_view request_id) {
    refusal.add_header("X-Request-ID", std::string(request_id));
    co_await http::write_response(stream, std::move(refusal), req.version(), false);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

// Reads messages until the connection ends (the socket answers pings and closes itself).
Task<void> read_loop(Connection& conn, RoomSession& session) {
    while (auto message = co_await conn.socket().read()) co_await session.on_message(message->payload, message->text);
}

// In the room (or its lobby) from the welcome to the last frame; every chat it sent stored,
// then, when it was lost rather than closed, held for a resume; then it leaves, unless a
// resume took its place.
Task<void> take_part(Connection& conn, RoomSession& session, const Meeting& meeting, RoomDeps& deps,
                     std::optional<std::vector<Frame>> resumed, bool waiting) {
    try {
        if (resumed) co_await session.resume(std::move(*resumed));
        else if (waiting) session.wait_in_lobby();
        else co_await session.enter();
        co_await read_loop(conn, session);
    } catch (const std::exception& e) {
        // A failure mid-session (the store, the bus) ends this connection only.
        deps.counters.errors_logged.add();
        log::warning("room", "a session ended on an error",
                     {{"meeting", meeting.id}, {"peer", conn.peer_id}, {"error", e.what()}});
    }
    co_await session.finish();
    if (conn.holdable()) co_await conn.wait_for_resume();
    if (conn.state() != Connection::State::handed_over && session.leave()) co_await session.announce_departure();
}

// A resume token's connection on this instance hands its place over: the frames it kept, or
// nothing when it is no longer there to resume.
Task<HandOver> take_over(const std::shared_ptr<Connection>& prior, const std::shared_ptr<Connection>& successor,
                         Id meeting, RoomHub& hub) {
    return await_reply<HandOver>([prior, successor, meeting, &hub](Reply<HandOver> reply) {
        asio::post(prior->loop, [prior, successor, meeting, &hub, reply = std::move(reply)]() mutable {
            prior->hand_over(meeting, hub, successor, std::move(reply));
        });
    });
}

}  // namespace

Task<SessionSummary> serve_websocket(beast::tcp_stream&& stream, http::BeastRequest&& req, User user,
                                     Meeting meeting, RoomDoor door, RoomDeps& deps, std::string_view request_id) {
    const RoomLimits& limits = deps.limits;
    if (deps.hub.check(meeting.id, user.id, limits.max_connections_per_room, limits.max_connections_per_user) !=
        RoomHub::Admission::allowed) {
        co_await refuse(stream, req, http::error_response(429, "Too many connections to this room or by this user."),
                        request_id);
        co_return SessionSummary{.status = 429};
    }
    bool typed = wants_typed_protocol(req);
    bool moderator = services::is_moderator(user, meeting);
    // ?resume=<token>: a connection of this instance that was in the room comes back. The
    // lock and the lobby do not apply to it: it was inside.
    std::string resume_token;
    if (typed && limits.resume_window.count() > 0) {
        std::string_view target = req.target();
        std::size_t question = target.find('?');
        if (question != std::string_view::npos) http::query_param(target.substr(question + 1), "resume", resume_token);
    }
    bool resuming = !resume_token.empty() && deps.hub.resume_tokens().valid(resume_token, meeting.id, user.id);
    bool waiting = false;
    if (!moderator && !resuming) {
        if (door.locked) {
            co_await refuse(stream, req, http::error_response(403, "This meeting is locked."), request_id);
            co_return SessionSummary{.status = 403};
        }
        if (door.lobby && !door.admitted) {
            if (!typed) {
                co_await refuse(stream, req,
                                http::error_response(403, "This meeting has a lobby: a moderator must admit you first."),
                                request_id);
                co_return SessionSummary{.status = 403};
            }
            waiting = true;
        }
    }
    auto socket = co_await accept_upgrade(stream.release_socket(), req, typed, std::string(request_id));
    if (!socket) co_return SessionSummary{.status = 400};
    req = {};  // its header fields would otherwise stay for the whole session

    WsSocket::Options options{.max_message = limits.max_frame_bytes,
                              .idle_timeout = limits.idle_timeout,
                              .max_queued = limits.max_queued_frames,
                              .counters = &deps.counters};
    auto ws = std::make_shared<WsSocket>(std::move(*socket), deps.loop, options);
    ws->start();
    LoopGauge& open = typed ? deps.counters.websockets_typed : deps.counters.websockets_compat;
    open.add();

    std::shared_ptr<Connection> conn;
    std::optional<std::vector<Frame>> kept;  // set when resumed
    if (resuming) {
        auto prior = std::dynamic_pointer_cast<Connection>(deps.hub.resume_tokens().take(resume_token, meeting.id, user.id));
        if (prior) {
            auto successor = std::make_shared<Connection>(ws, user, typed, moderator, prior->peer_id, limits, deps.counters);
            successor->hold_for_welcome();
            HandOver handed = co_await take_over(prior, successor, meeting.id, deps.hub);
            if (handed.ok) {
                conn = std::move(successor);
                kept = std::move(handed.kept);
            }
        }
    } else if (!resume_token.empty() && deps.bus.spans_instances()) {
        // Not a token of this instance: if another holds its connection, that one leaves now
        // (the room is told) rather than at the end of its window; this is a new connection.
        deps.bus.act(meeting.id, RoomAction{.kind = RoomAction::Kind::release, .user = user.id,
                                            .token_hash = sha256_hex(resume_token)});
    }
    bool joined = true;
    if (!conn) {
        conn = std::make_shared<Connection>(ws, user, typed, moderator, "p_" + random_token(12), limits, deps.counters);
        if (typed) conn->hold_for_welcome();
        joined = deps.hub.join(meeting.id, conn, limits.max_connections_per_room, limits.max_connections_per_user,
                               waiting) == RoomHub::Admission::allowed;
    }
    if (!joined) {
        conn->close_now(kCloseTooManyConnections, "too many connections");
    } else {
        RoomSession session(deps, conn, user, meeting);
        conn->attach(&session);
        co_await take_part(*conn, session, meeting, deps, std::move(kept), waiting);
    }
    conn->end_session();
    open.sub();
    // `ws` went into the connection.
    const WsSocket& socket_used = conn->socket();
    co_return SessionSummary{.status = 101, .bytes_sent = socket_used.bytes_sent(),
                             .bytes_received = socket_used.bytes_received()};
}

}  // namespace castera::realtime
