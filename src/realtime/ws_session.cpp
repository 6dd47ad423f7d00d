#include "realtime/ws_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <deque>

#include "auth/authenticate.hpp"
#include "http/beast_io.hpp"
#include "http/responses.hpp"
#include "realtime/frames.hpp"
#include "util/random.hpp"

namespace castera::realtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using WebSocket = websocket::stream<beast::tcp_stream>;

// Close codes of the compatible protocol (see docs/PROTOCOL.md).
constexpr std::uint16_t kCloseInvalidJson = 1007;   // the frame is not JSON text
constexpr std::uint16_t kCloseUnsupported = 1003;   // JSON, but not {"message": "..."}
constexpr std::uint16_t kCloseTooSlow = 1008;       // the outbound queue overflowed

// One accepted WebSocket: a reader (this coroutine's caller) and a writer coroutine that
// drains a bounded queue, so that a slow reader never holds up the room.
class Connection : public RoomMember, public std::enable_shared_from_this<Connection> {
public:
    Connection(WebSocket ws, std::size_t max_queue)
        : ws_(std::move(ws)), wake_(ws_.get_executor()), max_queue_(max_queue) {}

    WebSocket& socket() { return ws_; }

    void deliver(Frame frame) override {
        asio::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame)]() mutable {
            self->enqueue(std::move(frame));
        });
    }

    void close_going_away() override {
        asio::post(ws_.get_executor(), [self = shared_from_this()] {
            self->request_close(websocket::close_code::going_away, "server shutting down");
        });
    }

    // Must run on the connection's loop.
    void enqueue(Frame frame) {
        if (closing_) return;
        if (queue_.size() >= max_queue_) {
            request_close(kCloseTooSlow, "outbound queue overflow: reading too slowly");
            return;
        }
        queue_.push_back(std::move(frame));
        wake_.cancel();
    }

    // Must run on the connection's loop. The writer sends the close once the queue is done.
    void request_close(std::uint16_t code, std::string reason) {
        if (closing_) return;
        closing_ = true;
        close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
        queue_.clear();
        wake_.cancel();
    }

    bool closing() const { return closing_; }

    // Sends queued frames in order, then the close frame when one was requested.
    Task<void> write_loop() {
        auto self = shared_from_this();
        while (true) {
            while (!queue_.empty() && !closing_) {
                Frame frame = queue_.front();
                auto [ec, n] = co_await ws_.async_write(asio::buffer(*frame), use_tuple);
                if (ec) co_return;
                if (!queue_.empty()) queue_.pop_front();
            }
            if (closing_ || stopped_) break;
            wake_.expires_at(asio::steady_timer::time_point::max());
            co_await wake_.async_wait(use_tuple);
        }
        if (closing_ && ws_.is_open()) co_await ws_.async_close(close_reason_, use_tuple);
    }

    // Ends the writer once the reader is done.
    void stop() {
        stopped_ = true;
        wake_.cancel();
    }

private:
    WebSocket ws_;
    asio::steady_timer wake_;
    std::deque<Frame> queue_;
    std::size_t max_queue_;
    bool closing_ = false;
    bool stopped_ = false;
    websocket::close_reason close_reason_;
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

// Reads frames until the connection ends; each chat message is stored, then sent to the room.
Task<void> read_loop(Connection& conn, const User& user, const Meeting& meeting, Loop& loop) {
    beast::flat_buffer buffer;
    while (true) {
        buffer.clear();
        auto [ec, n] = co_await conn.socket().async_read(buffer, use_tuple);
        if (ec) co_return;  // closed, too big (Beast sends 1009), timed out or reset
        if (conn.closing()) continue;  // draining until the peer answers our close
        if (!conn.socket().got_text()) {
            conn.request_close(kCloseUnsupported, "binary frames are not supported");
            continue;
        }
        std::string_view text(static_cast<const char*>(buffer.data().data()), buffer.size());
        std::uint16_t close_code = 0;
        auto content = read_chat_text(text, close_code);
        if (!content) {
            conn.request_close(close_code, close_code == kCloseInvalidJson ? "invalid JSON"
                                                                          : "expected {\"message\": \"...\"}");
            continue;
        }
        if (is_blank(*content)) continue;
        Message stored = co_await loop.store->create_message(meeting.id, user.id, std::move(*content));
        publish_message(loop.app, stored);
    }
}

}  // namespace

Task<void> serve_websocket(beast::tcp_stream stream, http::BeastRequest req, std::string remote, Loop& loop) {
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
    WebSocket ws(std::move(stream));
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "castera"); }));
    ws.read_message_max(config.ws_max_frame_bytes);
    auto [ec] = co_await ws.async_accept(req, use_tuple);
    if (ec) co_return;

    auto conn = std::make_shared<Connection>(std::move(ws), config.ws_max_queued_frames);
    ++loop.app.open_websockets;
    const User& user = *admission.user;
    const Meeting& meeting = *admission.meeting;
    asio::co_spawn(conn->socket().get_executor(), conn->write_loop(), asio::detached);
    loop.app.rooms.broadcast(meeting.id, presence_frame("joined", user.email));
    loop.app.rooms.join(meeting.id, conn);
    try {
        co_await read_loop(*conn, user, meeting, loop);
    } catch (const std::exception&) {
        // A store failure mid-chat ends this connection only.
    }
    loop.app.rooms.leave(meeting.id, conn.get());
    conn->stop();
    loop.app.rooms.broadcast(meeting.id, presence_frame("left", user.email));
    --loop.app.open_websockets;
}

}  // namespace castera::realtime
