#include "realtime/ws_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>

#include "http/beast_io.hpp"
#include "http/responses.hpp"
#include "observe/log.hpp"
#include "realtime/frames.hpp"
#include "realtime/ws_socket.hpp"
#include "util/random.hpp"

namespace castera::realtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view kTypedProtocol = "castera.v2";

// One accepted WebSocket as its room sees it: frames for it are queued on its socket (bounded,
// so that a slow reader is dropped rather than holding up the room) and leave from its loop.
class Connection final : public SessionPeer, public std::enable_shared_from_this<Connection> {
public:
    Connection(std::shared_ptr<WsSocket> ws, const User& user, bool typed, const RoomLimits& limits,
               LoopCounters& counters)
        : SessionPeer("p_" + random_token(12), user.id, user.email, typed, ws->executor()),
          ws_(std::move(ws)),
          max_queue_(limits.max_queued_frames),
          counters_(counters) {}

    WsSocket& socket() { return *ws_; }

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
            self->ws_->close(code, reason, true);
        });
    }

    // Must run on the connection's loop.
    void send(const Frame& frame) override {
        if (ws_->closing()) return;
        if (ws_->queued() >= max_queue_) {
            counters_.ws_dropped_slow_reader.add();
            close_now(kClosePolicy, "outbound queue overflow: reading too slowly");
            return;
        }
        ws_->send(frame);
    }

    void close_now(std::uint16_t code, std::string_view reason) override { ws_->close(code, reason, false); }

    // castera.v2 starts with the welcome, but the connection is in its room (and receives)
    // while the welcome is being put together, which may wait on the store or on Redis: what
    // arrives meanwhile is kept behind it. Must run on the connection's loop.
    void hold_for_welcome() { ws_->hold(); }
    void send_welcome(Frame welcome) override {
        ws_->send_first(std::move(welcome));
        ws_->release();
    }

    // The session is over. A socket still open here lost its reader to an error of ours: it is
    // closed as a server error rather than left to the idle timeout.
    void end_session() {
        if (!ws_->closing()) ws_->close(kCloseServerError, "internal error", false);
    }

private:
    std::shared_ptr<WsSocket> ws_;
    std::size_t max_queue_;
    LoopCounters& counters_;
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

Task<void> refuse(beast::tcp_stream& stream, const http::BeastRequest& req, http::Response refusal) {
    co_await http::write_response(stream, std::move(refusal), req.version(), false);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

// Reads messages until the connection ends (the socket answers pings and closes itself).
Task<void> read_loop(Connection& conn, RoomSession& session) {
    while (auto message = co_await conn.socket().read()) co_await session.on_message(message->payload, message->text);
}

// In the room from the welcome to the last frame; every chat it sent stored before it leaves.
Task<void> take_part(Connection& conn, RoomSession& session, const Meeting& meeting, RoomDeps& deps) {
    try {
        if (conn.typed) co_await session.send_welcome();
        deps.bus.presence(meeting.id, "joined", conn, &conn);
        co_await session.announce_arrival();
        co_await read_loop(conn, session);
    } catch (const std::exception& e) {
        // A failure mid-session (the store, the bus) ends this connection only.
        deps.counters.errors_logged.add();
        log::warning("room", "a session ended on an error",
                     {{"meeting", meeting.id}, {"peer", conn.peer_id}, {"error", e.what()}});
    }
    co_await session.finish();
}

}  // namespace

Task<SessionSummary> serve_websocket(beast::tcp_stream&& stream, http::BeastRequest&& req, User user,
                                     Meeting meeting, RoomDeps& deps, std::string_view request_id) {
    const RoomLimits& limits = deps.limits;
    if (deps.hub.check(meeting.id, user.id, limits.max_connections_per_room, limits.max_connections_per_user) !=
        RoomHub::Admission::allowed) {
        http::Response refusal = http::error_response(429, "Too many connections to this room or by this user.");
        refusal.add_header("X-Request-ID", std::string(request_id));
        co_await refuse(stream, req, std::move(refusal));
        co_return SessionSummary{.status = 429};
    }
    bool typed = wants_typed_protocol(req);
    auto socket = co_await accept_upgrade(stream.release_socket(), req, typed, std::string(request_id));
    if (!socket) co_return SessionSummary{.status = 400};
    req = {};  // its header fields would otherwise stay for the whole session

    WsSocket::Options options{.max_message = limits.max_frame_bytes,
                              .idle_timeout = limits.idle_timeout,
                              .max_queued = limits.max_queued_frames,
                              .counters = &deps.counters};
    auto ws = std::make_shared<WsSocket>(std::move(*socket), deps.loop, options);
    ws->start();
    auto conn = std::make_shared<Connection>(std::move(ws), user, typed, limits, deps.counters);
    LoopGauge& open = typed ? deps.counters.websockets_typed : deps.counters.websockets_compat;
    open.add();
    if (typed) conn->hold_for_welcome();
    if (deps.hub.join(meeting.id, conn, limits.max_connections_per_room, limits.max_connections_per_user) !=
        RoomHub::Admission::allowed) {
        conn->close_now(kCloseTooManyConnections, "too many connections");
    } else {
        deps.bus.joined(meeting.id, *conn);
        RoomSession session(deps, *conn, user, meeting);
        co_await take_part(*conn, session, meeting, deps);
        deps.hub.leave(meeting.id, conn.get());
        deps.bus.left(meeting.id, *conn);
        deps.bus.presence(meeting.id, "left", *conn);
        co_await session.announce_departure();
    }
    conn->end_session();
    open.sub();
    // `ws` went into the connection.
    const WsSocket& socket_used = conn->socket();
    co_return SessionSummary{.status = 101, .bytes_sent = socket_used.bytes_sent(),
                             .bytes_received = socket_used.bytes_received()};
}

}  // namespace castera::realtime
