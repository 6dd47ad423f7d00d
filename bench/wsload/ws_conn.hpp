// A lean WebSocket client for load tests. A connection owns its socket and nothing else while
// idle: it reads through its worker's shared buffer, and keeps a carry-over string only while
// a frame straddles two reads. (Beast's websocket::stream keeps a few KiB per connection; at
// 100,000 connections sharing two cores with the server, the tool must stay out of the way.)
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace wsload {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One event loop on one thread, and the buffer its connections read into.
class Worker {
public:
    explicit Worker(int index) : index(index) {}
    const int index;
    asio::io_context io{1};
    // Shared by the worker's connections: a connection reads into it and parses it within one
    // handler, so nothing else touches it meanwhile.
    std::array<char, 64 * 1024> read_buffer;
};

// A fixed set of workers, each running its loop on its own thread until stop().
class WorkerPool {
public:
    explicit WorkerPool(int threads);
    ~WorkerPool();
    Worker& operator[](std::size_t i) { return *workers_[i]; }
    std::size_t size() const { return workers_.size(); }
    void stop();

private:
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
    bool stopped_ = false;
};

class WsConn;

// What a scenario hears from its connections; called on the connection's worker thread.
class Listener {
public:
    virtual ~Listener() = default;
    // A text message (its first fragment, when the server fragmented it).
    virtual void on_text(WsConn& conn, std::string_view payload) = 0;
    // The server closed the connection, or it failed.
    virtual void on_closed(WsConn& conn) = 0;
};

// Where to connect, from where, and the request target (path and query).
struct Target {
    tcp::endpoint server;
    asio::ip::address source;
    std::string host;
    std::string path;
};

// Why an open failed, for the report.
enum class OpenResult : std::uint8_t { opened, refused, connect_failed, timed_out };

class WsConn {
public:
    WsConn(Worker& worker, Listener& listener) : worker_(worker), listener_(listener), socket_(worker.io) {}
    WsConn(const WsConn&) = delete;
    WsConn& operator=(const WsConn&) = delete;

    // Connects from target.source and upgrades with subprotocol castera.v2. On refusal,
    // http_status() says what the server answered.
    asio::awaitable<OpenResult> open(const Target& target, std::chrono::milliseconds timeout);
    // Sends one text message (masked, as a client must).
    void send_text(std::string_view payload);
    // Sends ready-made frames in one write (see encode_text).
    void send_raw(std::string_view frames);
    void close();

    bool is_open() const { return open_; }
    int http_status() const { return http_status_; }
    std::uint16_t close_code() const { return close_code_; }
    Worker& worker() { return worker_; }
    // When the kernel received the bytes of the last read (steady clock, ns), or 0 when it did
    // not say. Over loopback that is the moment the server's send returned: the delivery time
    // as a client on another machine would see it, before the tool gets a core to read it.
    std::int64_t arrival_ns() const { return arrival_ns_; }

private:
    asio::awaitable<OpenResult> connect_and_upgrade(const Target& target);
    void arm_read();
    void on_readable();
    std::size_t receive(std::array<char, 64 * 1024>& buffer, boost::system::error_code& ec);
    void absorb(std::string_view bytes);
    std::size_t parse_frames(std::string_view data);
    void on_frame(std::uint8_t opcode, std::string_view payload);
    void write(std::string_view bytes);
    void arm_write();
    void fail();

    Worker& worker_;
    Listener& listener_;
    tcp::socket socket_;
    std::string carry_;   // the start of a frame whose end has not arrived yet
    std::string outbox_;  // bytes the socket would not take at once
    std::int64_t arrival_ns_ = 0;
    std::uint16_t close_code_ = 0;
    std::int16_t http_status_ = 0;
    bool open_ = false;
    bool writing_ = false;
};

// A masked client text frame, for senders that build a burst ahead of time.
void encode_text(std::string& out, std::string_view payload);
// A masked client close frame with code 1000 (a client that leaves properly).
void encode_close(std::string& out);

}  // namespace wsload
