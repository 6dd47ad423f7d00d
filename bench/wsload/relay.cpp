// castera_wsrelay: the reference for bench/ws's fan-out and latency runs, measured in the same
// run as castera. A WebSocket server that does only what no relay can skip: one event loop
// per core, the upgrade, unmasking, and each text frame read sent on unchanged to every
// connection (the sender too, as castera echoes a chat), each loop to its own connections
// after handing the frame to the others. No authentication, no protocol, no store, no limits:
// what castera's figures cost above this relay's, on the same machine in the same minute, is
// castera's own work; what they share is the machine's.
//   castera_wsrelay --port N [--threads N]
// A request without Sec-WebSocket-Key gets a 200 (a readiness probe can use any path).
#include <CLI/CLI.hpp>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace wsrelay {
namespace {

using Frame = std::shared_ptr<const std::string>;

constexpr std::size_t kMaxRequestHead = 8192;
constexpr int kListenTag = -1;
constexpr int kWakeTag = -2;

// Sec-WebSocket-Accept for a client's key (RFC 6455, section 4.2.2).
std::string accept_key(std::string_view key) {
    std::string input(key);
    input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    unsigned int size = 0;
    EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha1(), nullptr);
    unsigned char encoded[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
    int n = EVP_EncodeBlock(encoded, digest, static_cast<int>(size));
    return std::string(reinterpret_cast<char*>(encoded), static_cast<std::size_t>(n));
}

// The value of a header in a request head, matched without regard to case; empty if absent.
std::string_view header_value(std::string_view head, std::string_view name) {
    std::size_t at = 0;
    while ((at = head.find("\r\n", at)) != std::string_view::npos) {
        at += 2;
        std::string_view line = head.substr(at, head.find("\r\n", at) - at);
        if (line.size() > name.size() && line[name.size()] == ':' &&
            std::equal(name.begin(), name.end(), line.begin(),
                       [](unsigned char a, unsigned char b) { return std::tolower(a) == std::tolower(b); })) {
            std::string_view value = line.substr(name.size() + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
            return value;
        }
    }
    return {};
}

// A server frame (never masked) with the whole payload.
std::string server_frame(std::uint8_t opcode, std::string_view payload) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    if (payload.size() < 126) {
        f.push_back(static_cast<char>(payload.size()));
    } else if (payload.size() < 65536) {
        f.push_back(126);
        f.push_back(static_cast<char>(payload.size() >> 8));
        f.push_back(static_cast<char>(payload.size() & 0xff));
    } else {
        f.push_back(127);
        for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>((payload.size() >> shift) & 0xff));
    }
    f.append(payload);
    return f;
}

struct Conn {
    int fd;
    bool upgraded = false;
    std::string in;   // bytes read and not yet used
    std::string out;  // bytes the socket did not take yet
};

class Relay;

// One event loop on its own thread: its connections, and an inbox other threads fill.
class Loop {
public:
    Loop(Relay& relay, int index);
    ~Loop();
    void run(int listener);  // listener: -1 except on the loop that accepts
    void adopt(int fd);      // from any thread
    void relay(const Frame& frame);  // from any thread

private:
    void wake();
    void on_wake();
    void on_accept(int listener);
    void on_readable(Conn& c);
    bool upgrade(Conn& c);
    bool use_frames(Conn& c);
    void send_all(const std::string& bytes);
    bool send(Conn& c, std::string_view bytes);
    bool flush(Conn& c);
    void close(int fd);

    Relay& relay_;
    const int index_;
    int epoll_ = -1;
    int wake_ = -1;
    std::unordered_map<int, std::unique_ptr<Conn>> conns_;
    std::vector<int> closing_;
    std::mutex inbox_mutex_;
    std::vector<int> new_fds_;
    std::vector<Frame> frames_;
};

class Relay {
public:
    explicit Relay(int threads) {
        for (int i = 0; i < threads; ++i) loops_.push_back(std::make_unique<Loop>(*this, i));
    }
    Loop& next_loop() { return *loops_[next_++ % loops_.size()]; }
    // Hands a frame read on loop `from` to every other loop.
    void to_others(int from, const Frame& frame) {
        for (std::size_t i = 0; i < loops_.size(); ++i)
            if (static_cast<int>(i) != from) loops_[i]->relay(frame);
    }
    void run(int listener) {
        std::vector<std::thread> threads;
        for (std::size_t i = 1; i < loops_.size(); ++i) threads.emplace_back([this, i] { loops_[i]->run(-1); });
        loops_[0]->run(listener);
    }

private:
    std::vector<std::unique_ptr<Loop>> loops_;
    std::size_t next_ = 0;  // only the accepting loop uses it
};

Loop::Loop(Relay& relay, int index) : relay_(relay), index_(index) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_ < 0 || wake_ < 0) throw std::runtime_error(std::string("epoll/eventfd: ") + std::strerror(errno));
    epoll_event ev{.events = EPOLLIN, .data = {.fd = kWakeTag}};
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
}

Loop::~Loop() {
    for (auto& [fd, c] : conns_) ::close(fd);
    ::close(wake_);
    ::close(epoll_);
}

void Loop::run(int listener) {
    if (listener >= 0) {
        epoll_event ev{.events = EPOLLIN, .data = {.fd = kListenTag}};
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, listener, &ev);
    }
    epoll_event events[256];
    for (;;) {
        int n = ::epoll_wait(epoll_, events, 256, -1);
        for (int i = 0; i < n; ++i) {
            int tag = events[i].data.fd;
            if (tag == kListenTag) on_accept(listener);
            else if (tag == kWakeTag) on_wake();
            else if (auto it = conns_.find(tag); it != conns_.end()) {
                Conn& c = *it->second;
                std::uint32_t what = events[i].events;
                if (what & (EPOLLERR | EPOLLHUP)) closing_.push_back(c.fd);
                else if ((what & EPOLLOUT) && !flush(c)) closing_.push_back(c.fd);
                else if (what & EPOLLIN) on_readable(c);
            }
        }
        for (int fd : closing_) close(fd);
        closing_.clear();
    }
}

void Loop::adopt(int fd) {
    {
        std::lock_guard lock(inbox_mutex_);
        new_fds_.push_back(fd);
    }
    wake();
}

void Loop::relay(const Frame& frame) {
    {
        std::lock_guard lock(inbox_mutex_);
        frames_.push_back(frame);
    }
    wake();
}

void Loop::wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto ignored = ::write(wake_, &one, sizeof one);
}

void Loop::on_wake() {
    std::uint64_t count;
    [[maybe_unused]] auto ignored = ::read(wake_, &count, sizeof count);
    std::vector<int> fds;
    std::vector<Frame> frames;
    {
        std::lock_guard lock(inbox_mutex_);
        fds.swap(new_fds_);
        frames.swap(frames_);
    }
    for (const Frame& f : frames) send_all(*f);
    for (int fd : fds) {
        conns_.emplace(fd, std::make_unique<Conn>(Conn{.fd = fd}));
        epoll_event ev{.events = EPOLLIN, .data = {.fd = fd}};
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    }
}

void Loop::on_accept(int listener) {
    for (;;) {
        int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;  // EAGAIN, or a connection gone before it was taken
        int on = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        relay_.next_loop().adopt(fd);
    }
}

void Loop::on_readable(Conn& c) {
    char buffer[64 * 1024];
    for (;;) {
        ssize_t n = ::recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
            c.in.append(buffer, static_cast<std::size_t>(n));
            if (static_cast<std::size_t>(n) < sizeof buffer) break;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        closing_.push_back(c.fd);  // end of stream or an error
        return;
    }
    if (!c.upgraded && !upgrade(c)) return;
    if (!use_frames(c)) closing_.push_back(c.fd);
}

// Answers the request head once it is complete; false while it is not, or if it was refused.
bool Loop::upgrade(Conn& c) {
    auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (c.in.size() > kMaxRequestHead) closing_.push_back(c.fd);
        return false;
    }
    std::string_view head(c.in.data(), end + 2);
    std::string_view key = header_value(head, "Sec-WebSocket-Key");
    if (key.empty()) {
        send(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        closing_.push_back(c.fd);
        return false;
    }
    std::string answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: " + accept_key(key) + "\r\n";
    if (std::string_view protocol = header_value(head, "Sec-WebSocket-Protocol"); !protocol.empty())
        answer += "Sec-WebSocket-Protocol: " + std::string(protocol.substr(0, protocol.find(','))) + "\r\n";
    answer += "\r\n";
    c.in.erase(0, end + 4);
    c.upgraded = true;
    return send(c, answer);
}

// Handles every complete frame read; false when the connection is to close. Fragments are not
// put together: the tool sends every message in one frame.
bool Loop::use_frames(Conn& c) {
    std::size_t at = 0;
    bool open = true;
    while (open && c.in.size() - at >= 2) {
        auto b0 = static_cast<std::uint8_t>(c.in[at]);
        auto b1 = static_cast<std::uint8_t>(c.in[at + 1]);
        if (!(b1 & 0x80)) return false;  // a client always masks
        std::uint64_t length = b1 & 0x7f;
        std::size_t extra = length == 126 ? 2 : length == 127 ? 8 : 0;
        std::size_t head = 2 + extra + 4;
        if (c.in.size() - at < head) break;
        if (extra) {
            length = 0;
            for (std::size_t i = 0; i < extra; ++i) length = (length << 8) | static_cast<std::uint8_t>(c.in[at + 2 + i]);
        }
        if (c.in.size() - at - head < length) break;
        const char* mask = c.in.data() + at + head - 4;
        std::string payload(c.in.data() + at + head, length);
        for (std::size_t i = 0; i < payload.size(); ++i) payload[i] ^= mask[i % 4];
        switch (b0 & 0x0f) {
        case 0x1: {  // text: to every other loop first, so that they start while this one sends
            auto frame = std::make_shared<const std::string>(server_frame(0x1, payload));
            relay_.to_others(index_, frame);
            send_all(*frame);
            break;
        }
        case 0x8:  // close: answer it, then end
            send(c, server_frame(0x8, std::string_view(payload).substr(0, 2)));
            open = false;
            break;
        case 0x9:
            open = send(c, server_frame(0xA, payload));
            break;
        default:
            break;
        }
        at += head + length;
    }
    c.in.erase(0, at);
    return open;
}

void Loop::send_all(const std::string& bytes) {
    for (auto& [fd, c] : conns_)
        if (c->upgraded && !send(*c, bytes)) closing_.push_back(fd);
}

// Sends at once what the socket takes; the rest waits for it to take more.
bool Loop::send(Conn& c, std::string_view bytes) {
    if (!c.out.empty()) {
        c.out.append(bytes);
        return true;
    }
    ssize_t n = ::send(c.fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) return false;
    std::size_t sent = n < 0 ? 0 : static_cast<std::size_t>(n);
    if (sent == bytes.size()) return true;
    c.out.assign(bytes.substr(sent));
    epoll_event ev{.events = EPOLLIN | EPOLLOUT, .data = {.fd = c.fd}};
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
    return true;
}

bool Loop::flush(Conn& c) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN;
    c.out.erase(0, static_cast<std::size_t>(n));
    if (c.out.empty()) {
        epoll_event ev{.events = EPOLLIN, .data = {.fd = c.fd}};
        ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
    }
    return true;
}

void Loop::close(int fd) {
    if (conns_.erase(fd)) ::close(fd);  // closing also takes it out of the epoll set
}

int listen_on(const std::string& host, int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{.sin_family = AF_INET, .sin_port = htons(static_cast<std::uint16_t>(port))};
    if (fd < 0 || ::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 4096) != 0)
        throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
    return fd;
}

}  // namespace
}  // namespace wsrelay

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 0;
    int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    CLI::App app{"castera_wsrelay: a bare WebSocket relay, the reference of bench/ws"};
    app.add_option("--host", host, "IPv4 address to listen on");
    app.add_option("--port", port, "port to listen on")->required()->check(CLI::Range(1, 65535));
    app.add_option("--threads", threads, "event loops (one per core by default)")->check(CLI::Range(1, 256));
    CLI11_PARSE(app, argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    try {
        int listener = wsrelay::listen_on(host, port);
        wsrelay::Relay(threads).run(listener);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "castera_wsrelay: %s\n", e.what());
        return 1;
    }
}
