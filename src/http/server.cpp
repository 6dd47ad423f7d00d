#include "http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#ifndef CASTERA_JEMALLOC
#include <malloc.h>
#endif
#include <sys/resource.h>

#include <array>
#include <atomic>
#include <thread>
#include <utility>

#include "api/router.hpp"
#include "http/beast_io.hpp"
#include "http/request_id.hpp"
#include "http/responses.hpp"
#include "observe/log.hpp"
#include "realtime/ws_session.hpp"

namespace castera::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Set once a stop signal came: connections finish their request and close.
std::atomic<bool> g_stopping{false};

// A request being handled, counted on its loop (a graceful stop waits for them).
struct InFlight {
    explicit InFlight(LoopCounters& c) : counters(c) { counters.requests_in_flight.add(); }
    ~InFlight() { counters.requests_in_flight.sub(); }
    LoopCounters& counters;
};

using Clock = std::chrono::steady_clock;

std::int64_t microseconds_since(Clock::time_point started) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
}

// The access log's line for an answered request (before `res` is handed to the writer).
log::Access access_line(const Request& req, const Response& res, bool head, std::string_view request_id) {
    bool bodiless = head || res.status == 204 || res.status == 304;
    return log::Access{.method = req.method_name,
                       .route = res.route,
                       .path = req.path,
                       .status = res.status,
                       .bytes = bodiless ? 0 : res.body.size(),
                       .user = res.user_id,
                       .remote = req.remote_address,
                       .request_id = request_id};
}

// A WebSocket upgrade: the router decides, then the room serves it until it ends. Logged once:
// the refusal, or the session when it is over.
Task<void> upgrade(beast::tcp_stream&& stream, BeastRequest&& req, const std::string& remote, Loop& loop,
                   Clock::time_point started) {
    Request view = make_request_view(req, remote);
    std::string request_id = request_id_for(view.header("X-Request-ID"));
    std::variant<Response, api::UpgradeGrant> decision = co_await api::admit_upgrade(view, loop.api);
    if (auto* refusal = std::get_if<Response>(&decision)) {
        refusal->add_header("X-Request-ID", request_id);
        log::Access line = access_line(view, *refusal, false, request_id);
        co_await write_response(stream, std::move(*refusal), req.version(), false);
        line.duration_us = microseconds_since(started);
        log::access(line);
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
    }
    auto& grant = std::get<api::UpgradeGrant>(decision);
    // The request's own fields go with it into the session: the log line keeps copies.
    std::string method(view.method_name), path(view.path);
    const Id user = grant.user.id;
    const std::string_view route = grant.route;
    realtime::RoomDoor door{grant.locked, grant.lobby, grant.admitted};
    realtime::SessionSummary summary = co_await realtime::serve_websocket(
        std::move(stream), std::move(req), std::move(grant.user), std::move(grant.meeting), door, loop.rooms, request_id);
    log::access(log::Access{.kind = "websocket",
                            .method = method,
                            .route = route,
                            .path = path,
                            .status = summary.status,
                            .duration_us = microseconds_since(started),
                            .bytes = summary.bytes_sent,
                            .bytes_in = summary.bytes_received,
                            .user = user,
                            .remote = remote,
                            .request_id = request_id});
}

bool is_quiet_close(beast::error_code ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::operation_aborted || ec == beast::error::timeout ||
           ec == asio::error::connection_reset || ec == bhttp::error::partial_message;
}

// An open connection, HTTP or WebSocket, counted across the loops (one add at the accept and
// one sub at the close: nothing per request).
class OpenConnection {
public:
    explicit OpenConnection(ProcessCounters& c) : counters_(&c) {
        counters_->connections_open.fetch_add(1, std::memory_order_relaxed);
    }
    OpenConnection(OpenConnection&& other) noexcept : counters_(std::exchange(other.counters_, nullptr)) {}
    OpenConnection& operator=(OpenConnection&&) = delete;
    ~OpenConnection() {
        if (counters_) counters_->connections_open.fetch_sub(1, std::memory_order_relaxed);
    }

private:
    ProcessCounters* counters_;
};

// Parses what `buffer` already holds of a request's header; the rest is read within the header
// timeout. Parsing first means a keep-alive request that came whole in one read costs no
// second trip through the loop.
Task<beast::error_code> read_header(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                    bhttp::request_parser<bhttp::string_body>& parser, const Config& config) {
    beast::error_code ec;
    std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec && ec != bhttp::error::need_more) co_return ec;
    if (parser.is_header_done()) co_return beast::error_code{};
    stream.expires_after(config.header_timeout);
    auto [read_error, n] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
    (void)n;
    co_return read_error;
}

// One connection, request after request (keep-alive), until close, error or upgrade. A new
// connection has the header timeout to send its first byte, a kept one the keep-alive time;
// from its first byte a request's header has the header timeout, and its body the body
// timeout. A slow client holds one connection that long, and is closed without an answer.
Task<void> serve_connection(beast::tcp_stream stream, Loop& loop, const Config& config, OpenConnection) {
    beast::error_code ignored;
    auto endpoint = stream.socket().remote_endpoint(ignored);
    std::string remote = ignored ? std::string() : endpoint.address().to_string();
    beast::flat_buffer buffer;
    bool first = true;
    while (!g_stopping) {
        if (buffer.size() == 0) {
            stream.expires_after(first ? config.header_timeout : config.keep_alive_timeout);
            // As Beast sizes its reads: 512 bytes into an empty buffer, so that an idle
            // connection costs little, more once the buffer has grown.
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(beast::read_size(buffer, 65536)), use_tuple);
            if (ec) break;  // closed, reset, or silent too long: nobody to answer
            buffer.commit(n);
        }
        first = false;
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
        parser.body_limit(config.max_body_bytes);
        beast::error_code ec = co_await read_header(stream, buffer, parser, config);
        if (ec) {
            if (!is_quiet_close(ec)) co_await write_response(stream, read_error_response(ec), 11, false);
            break;
        }
        auto& header = parser.get();
        if (!has_valid_host(header) || !has_readable_framing(header)) {
            co_await write_response(stream, error_response(400, "Malformed HTTP request."), header.version(), false);
            break;
        }
        InFlight in_flight(loop.counters);
        const Clock::time_point started = Clock::now();
        if (header[bhttp::field::expect] == "100-continue" && !parser.is_done()) {
            bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, header.version()};
            co_await bhttp::async_write(stream, cont, use_tuple);
        }
        // A request without a body is complete with its header: no second trip through the loop.
        if (!parser.is_done()) {
            stream.expires_after(config.body_timeout);
            std::size_t n = 0;
            std::tie(ec, n) = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
        }
        if (ec) {
            if (!is_quiet_close(ec) || ec == bhttp::error::partial_message)
                co_await write_response(stream, read_error_response(ec), header.version(), false);
            break;
        }
        auto req = parser.release();
        if (beast::websocket::is_upgrade(req)) {
            stream.expires_never();
            co_await upgrade(std::move(stream), std::move(req), remote, loop, started);
            co_return;
        }
        Request view = make_request_view(req, remote);
        std::string request_id = request_id_for(view.header("X-Request-ID"));
        Response res = co_await api::handle_request(view, loop.api);
        res.add_header("X-Request-ID", request_id);
        bool keep_alive = req.keep_alive() && !g_stopping;
        bool head = view.method == Method::head;
        log::Access line = access_line(view, res, head, request_id);
        co_await write_response(stream, std::move(res), req.version(), keep_alive, head);
        line.duration_us = microseconds_since(started);
        log::access(line);
        if (!keep_alive) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// Descriptors kept for what is not a client connection: the database's files or connections,
// Redis, webhook deliveries, connections being shed.
constexpr std::int64_t kReservedDescriptors = 512;
// Shed connections lingering at once (beyond: closed at once, maybe without their answer).
constexpr std::int64_t kMostLingering = 256;
constexpr std::string_view kTooManyConnections =
    "HTTP/1.1 503 Service Unavailable\r\nServer: castera\r\nContent-Type: application/json\r\n"
    "Content-Length: 39\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{\"detail\":\"Too many open connections.\"}";
static_assert(kTooManyConnections.size() - kTooManyConnections.find("\r\n\r\n") - 4 == 39);

std::int64_t connection_limit(const Config& config) {
    if (config.max_connections > 0) return config.max_connections;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
    return std::max<std::int64_t>(static_cast<std::int64_t>(limit.rlim_cur) - kReservedDescriptors, 16);
}

// A connection over the limit: told 503 and closed. It lingers up to a second reading what the
// client sent, so that closing with unread bytes does not reset the connection before the
// client reads its answer.
Task<void> shed(tcp::socket socket, ProcessCounters& counters) {
    counters.connections_shed.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ec;
    socket.non_blocking(true, ec);
    socket.send(asio::buffer(kTooManyConnections), 0, ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    if (counters.connections_lingering.fetch_add(1, std::memory_order_relaxed) < kMostLingering) {
        beast::tcp_stream stream(std::move(socket));
        stream.expires_after(std::chrono::seconds(1));
        std::array<char, 4096> sink;
        for (;;) {
            auto [read_error, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
            (void)n;
            if (read_error) break;
        }
    }
    counters.connections_lingering.fetch_sub(1, std::memory_order_relaxed);
}

tcp::acceptor open_acceptor(asio::io_context& io, const Config& config) {
    beast::error_code ec;
    auto address = asio::ip::make_address(config.host, ec);
    if (ec) throw std::runtime_error("cannot listen: \"" + config.host + "\" is not an IP address");
    tcp::endpoint endpoint{address, config.port};
    tcp::acceptor acceptor{io};
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error("cannot listen on " + config.host + ":" + std::to_string(config.port) +
                                 ": " + ec.message());
    return acceptor;
}

// Accepts connections and hands them to the loops in turn, each socket made on its loop; over
// the connection limit, a new one is shed with 503.
Task<void> accept_loop(tcp::acceptor& acceptor, std::vector<std::unique_ptr<Loop>>& loops, App& app) {
    const Config& config = app.config;
    ProcessCounters& counters = app.counters.process;
    const std::int64_t most = connection_limit(config);
    std::size_t next = 0;
    while (acceptor.is_open()) {
        Loop& loop = *loops[next++ % loops.size()];
        auto [ec, socket] = co_await acceptor.async_accept(loop.io, use_tuple);
        if (ec == asio::error::operation_aborted) break;
        if (ec) {
            // Out of descriptors, for example: wait a moment instead of spinning.
            asio::steady_timer pause{acceptor.get_executor(), std::chrono::milliseconds(50)};
            co_await pause.async_wait(use_tuple);
            continue;
        }
        if (counters.connections_open.load(std::memory_order_relaxed) >= most) {
            asio::co_spawn(loop.io, shed(std::move(socket), counters), asio::detached);
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        asio::co_spawn(loop.io, serve_connection(beast::tcp_stream(std::move(socket)), loop, config, OpenConnection(counters)),
                       asio::detached);
    }
}

// On SIGINT/SIGTERM: stop accepting, close WebSockets with 1001, let requests finish (at most
// a few seconds), then stop every loop.
Task<void> stop_on_signal(asio::signal_set& signals, tcp::acceptor& acceptor, App& app,
                          std::vector<std::unique_ptr<Loop>>& loops) {
    auto [ec, signal] = co_await signals.async_wait(use_tuple);
    if (ec) co_return;
    g_stopping = true;
    acceptor.close(ec);
    app.rooms.close_all(1001, "server shutting down");
    asio::steady_timer timer{signals.get_executor()};
    auto busy = [&app] {
        CounterTotals totals = app.counters.totals();
        return totals.requests_in_flight + totals.websockets() > 0;
    };
    for (int waited = 0; busy() && waited < 100; ++waited) {
        timer.expires_after(std::chrono::milliseconds(50));
        co_await timer.async_wait(use_tuple);
    }
    for (auto& loop : loops) loop->io.stop();
}

// glibc gives freed memory at the top of a heap back to the kernel once 128 KiB of it is free.
// A server's heaps breathe by more than that from one burst of requests to the next (64
// listings of 16 KB in flight), so each burst paid page faults to get the memory back: up to
// a third of the listing's throughput. 8 MiB of slack per heap costs nothing at idle.
// (jemalloc, castera's usual allocator, keeps freed pages about a second, longer than a burst.)
void keep_freed_memory_for_reuse() {
#ifndef CASTERA_JEMALLOC
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
}

// Every connection is a descriptor. Shells and service managers start programs with a soft
// limit of 1,024 (kept low for programs that use select()); castera uses epoll, so it takes
// the hard limit, as nginx's worker_rlimit_nofile would, instead of leaving connections
// waiting in the listen queue beyond the thousandth.
void raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
    rlim_t wanted = limit.rlim_max;
    if (wanted == RLIM_INFINITY) wanted = 1 << 20;  // the kernel's usual ceiling (fs.nr_open)
    for (; wanted > limit.rlim_cur; wanted /= 2) {
        rlimit raised{wanted, limit.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return;
    }
}

}  // namespace

void serve(App& app, const std::function<void(unsigned short)>& on_listening) {
    keep_freed_memory_for_reuse();
    raise_descriptor_limit();
    unsigned threads = app.config.threads ? app.config.threads : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<std::unique_ptr<Loop>> loops;
    for (unsigned i = 0; i < threads; ++i) {
        contexts.push_back(std::make_unique<asio::io_context>(1));
        loops.push_back(app.make_loop(*contexts.back()));
        loops.back()->store->settle_on(contexts.back()->get_executor());
    }
    asio::io_context& main_io = *contexts.front();
    app.start_webhooks(*loops.front());
    tcp::acceptor acceptor = open_acceptor(main_io, app.config);
    if (on_listening) on_listening(acceptor.local_endpoint().port());

    asio::signal_set signals{main_io, SIGINT, SIGTERM};
    asio::co_spawn(main_io, accept_loop(acceptor, loops, app), asio::detached);
    asio::co_spawn(main_io, stop_on_signal(signals, acceptor, app, loops), asio::detached);

    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads; ++i) {
        workers.emplace_back([&io = *contexts[i]] {
            auto guard = asio::make_work_guard(io);
            io.run();
        });
    }
    main_io.run();
    for (auto& ctx : contexts) ctx->stop();
    for (auto& w : workers) w.join();
    app.stop_loop_work();
    // The bus says goodbye to the other instances and stops while the loops still exist: it
    // may still hand answers to them.
    app.bus->stop();
}

}  // namespace castera::http
