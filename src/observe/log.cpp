#include "observe/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "util/json_writer.hpp"
#include "util/time.hpp"

namespace castera::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<int> g_format{static_cast<int>(Format::text)};
std::atomic<bool> g_access{true};

std::string_view level_name(Level level) {
    switch (level) {
        case Level::debug: return "debug";
        case Level::info: return "info";
        case Level::warning: return "warning";
        case Level::error: return "error";
    }
    return "info";
}

// A value needs quotes in a text line when it is empty or holds a space, a quote or '='.
bool needs_quotes(std::string_view value) {
    return value.empty() || value.find_first_of(" \"=\t\n") != std::string_view::npos;
}

void append_text_value(std::string& line, std::string_view value) {
    if (!needs_quotes(value)) {
        line += value;
        return;
    }
    line += '"';
    for (char c : value) {
        if (c == '"' || c == '\\') line += '\\';
        if (c == '\n') line += "\\n";
        else line += c;
    }
    line += '"';
}

void format_text(std::string& line, Level level, std::string_view component, std::string_view message,
                 std::initializer_list<Field> fields) {
    line += iso8601_text(now_utc()).view();
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += component;
    line += ": ";
    for (char c : message) line += c == '\n' ? ' ' : c;
    for (const Field& f : fields) {
        line += ' ';
        line += f.key;
        line += '=';
        append_text_value(line, f.value);
    }
    line += '\n';
}

void format_json(std::string& line, Level level, std::string_view component, std::string_view message,
                 std::initializer_list<Field> fields) {
    JsonWriter w(line);
    w.begin_object();
    w.field("time", iso8601_text(now_utc()).view());
    w.field("level", level_name(level));
    w.field("component", component);
    w.field("message", message);
    for (const Field& f : fields) {
        w.key(f.key);
        if (f.number) w.raw(f.value);
        else w.value(f.value);
    }
    w.end_object();
    line += '\n';
}

// Formatted lines are appended to a buffer of the writing thread's own (a loop's, the bus's,
// ...) and a thread of the sink's writes them: the writer collects every buffer shortly after
// the first line lands in one, so a record costs a loop an uncontended lock and an append, and
// a wake-up of the writer per batch, not per line. A slow standard error holds nobody up: a
// thread's buffer past kMaxBacklog drops its lines (counted). Made on first use and kept until
// the process ends.
class Sink {
public:
    static Sink& instance() {
        // Never destroyed: threads may still log while static objects are being torn down.
        static Sink* sink = new Sink();
        return *sink;
    }

    // One thread's lines waiting for the writer. Its lock is taken by its own thread for each
    // line and by the writer once per collection: hardly ever contended.
    struct Buffer {
        std::mutex mutex;
        std::string text;
        std::uint64_t lines = 0;
    };

    void push(Buffer& buffer, std::string_view line) {
        bool was_empty;
        {
            std::lock_guard lock(buffer.mutex);
            if (buffer.text.size() + line.size() > kMaxBacklog) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            was_empty = buffer.text.empty();
            buffer.text += line;
            ++buffer.lines;
        }
        // The first line of a batch wakes the writer; the others ride along.
        if (was_empty && !signalled_.exchange(true, std::memory_order_acq_rel)) {
            std::lock_guard lock(mutex_);
            wake_.notify_one();
        }
    }

    void attach(Buffer* buffer) {
        std::lock_guard lock(mutex_);
        buffers_.push_back(buffer);
    }

    // A thread that ends hands its last lines over with its buffer.
    void detach(Buffer* buffer) {
        std::lock_guard lock(mutex_);
        {
            std::lock_guard own(buffer->mutex);
            orphaned_ += buffer->text;
        }
        std::erase(buffers_, buffer);
        signalled_.store(true, std::memory_order_release);
        wake_.notify_one();
    }

    // Waits until the lines written before the call are on standard error.
    void flush() {
        std::unique_lock lock(mutex_);
        std::uint64_t ticket = ++flush_requests_;
        signalled_.store(true, std::memory_order_release);
        wake_.notify_one();
        done_.wait_for(lock, std::chrono::seconds(5), [&] { return flushes_done_ >= ticket; });
    }

    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    static constexpr std::size_t kMaxBacklog = 4 << 20;
    // How long the writer lets a batch gather after its first line: lines written in the same
    // few milliseconds leave in one write(2).
    static constexpr auto kGather = std::chrono::milliseconds(5);

    Sink() : thread_([this] { run(); }) { thread_.detach(); }

    void run() {
        std::string batch;
        for (;;) {
            std::uint64_t tickets;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return signalled_.load(std::memory_order_acquire); });
                bool flushing = flush_requests_ > flushes_done_;
                if (!flushing) {
                    lock.unlock();
                    std::this_thread::sleep_for(kGather);
                    lock.lock();
                }
                signalled_.store(false, std::memory_order_release);
                tickets = flush_requests_;
                batch.swap(orphaned_);
                for (Buffer* buffer : buffers_) {
                    std::lock_guard own(buffer->mutex);
                    batch += buffer->text;
                    buffer->text.clear();
                    // A burst's buffer is not kept at its peak size for good.
                    if (buffer->text.capacity() > kKeptCapacity) buffer->text.shrink_to_fit();
                }
            }
            write_all(batch);
            batch.clear();
            if (batch.capacity() > kKeptCapacity) batch.shrink_to_fit();
            {
                std::lock_guard lock(mutex_);
                flushes_done_ = tickets;
            }
            done_.notify_all();
        }
    }

    static constexpr std::size_t kKeptCapacity = 64 << 10;

    static void write_all(std::string_view text) {
        while (!text.empty()) {
            ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;  // nowhere to write: the lines are lost, as on a closed stderr
            text.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    std::mutex mutex_;  // buffers_, orphaned_ and the flush tickets
    std::condition_variable wake_;
    std::condition_variable done_;
    std::atomic<bool> signalled_{false};
    std::vector<Buffer*> buffers_;
    std::string orphaned_;
    std::uint64_t flush_requests_ = 0;
    std::uint64_t flushes_done_ = 0;
    std::atomic<std::uint64_t> dropped_{0};
    std::thread thread_;
};

// The calling thread's buffer, attached to the sink on the thread's first line.
struct ThreadBuffer {
    Sink::Buffer buffer;
    ThreadBuffer() { Sink::instance().attach(&buffer); }
    ~ThreadBuffer() { Sink::instance().detach(&buffer); }
};

Sink::Buffer& thread_buffer() {
    thread_local ThreadBuffer mine;
    return mine.buffer;
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k), number(true) {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.6g", v);
    value.assign(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

void configure(Level level, Format format) {
    g_level.store(static_cast<int>(level), std::memory_order_relaxed);
    g_format.store(static_cast<int>(format), std::memory_order_relaxed);
}

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view component, std::string_view message, std::initializer_list<Field> fields) {
    if (!enabled(level)) return;
    bool json = g_format.load(std::memory_order_relaxed) == static_cast<int>(Format::json);
    // Formatted into a string the thread keeps, so a line allocates nothing once warm.
    thread_local std::string line;
    line.clear();
    if (json) format_json(line, level, component, message, fields);
    else format_text(line, level, component, message, fields);
    Sink::instance().push(thread_buffer(), line);
    if (line.capacity() > 16 << 10) line = std::string();
}

void configure_access(bool on) { g_access.store(on, std::memory_order_relaxed); }

bool access_enabled() { return g_access.load(std::memory_order_relaxed) && enabled(Level::info); }

namespace {

// Milliseconds with three decimals, without printf's locale and parsing of a format.
void append_millis(std::string& out, std::int64_t us) {
    if (us < 0) us = 0;
    out += std::to_string(us / 1000);
    char frac[4] = {char('0' + us % 1000 / 100), char('0' + us % 100 / 10), char('0' + us % 10), 0};
    out += '.';
    out += frac;
}

// Formatted straight into the line: an access line is written per request, so it makes no
// Field strings.
void format_access_text(std::string& line, const Access& a) {
    line += iso8601_text(now_utc()).view();
    line += " info access: ";
    line += a.kind;
    line += " method=";
    append_text_value(line, a.method);
    line += " route=";
    append_text_value(line, a.route);
    line += " path=";
    append_text_value(line, a.path);
    line += " status=";
    line += std::to_string(a.status);
    line += " duration_ms=";
    append_millis(line, a.duration_us);
    line += " bytes=";
    line += std::to_string(a.bytes);
    if (a.kind == "websocket") {
        line += " bytes_in=";
        line += std::to_string(a.bytes_in);
    }
    line += " user=";
    line += a.user ? std::to_string(a.user) : std::string("-");
    line += " remote=";
    append_text_value(line, a.remote.empty() ? std::string_view("-") : a.remote);
    line += " request_id=";
    append_text_value(line, a.request_id);
    line += '\n';
}

void format_access_json(std::string& line, const Access& a) {
    JsonWriter w(line);
    w.begin_object();
    w.field("time", iso8601_text(now_utc()).view());
    w.field("level", "info");
    w.field("component", "access");
    w.field("message", a.kind);
    w.field("method", a.method);
    w.field("route", a.route);
    w.field("path", a.path);
    w.field("status", static_cast<std::int64_t>(a.status));
    w.key("duration_ms");
    std::string ms;
    append_millis(ms, a.duration_us);
    w.raw(ms);
    w.field("bytes", static_cast<std::int64_t>(a.bytes));
    if (a.kind == "websocket") w.field("bytes_in", static_cast<std::int64_t>(a.bytes_in));
    w.key("user");
    if (a.user) w.value(a.user);
    else w.null();
    w.field("remote", a.remote);
    w.field("request_id", a.request_id);
    w.end_object();
    line += '\n';
}

}  // namespace

void access(const Access& a) {
    if (!access_enabled()) return;
    thread_local std::string line;
    line.clear();
    if (g_format.load(std::memory_order_relaxed) == static_cast<int>(Format::json)) format_access_json(line, a);
    else format_access_text(line, a);
    Sink::instance().push(thread_buffer(), line);
    if (line.capacity() > 16 << 10) line = std::string();
}

void flush() { Sink::instance().flush(); }

std::uint64_t dropped() { return Sink::instance().dropped(); }

bool parse_level(std::string_view text, Level& level) {
    if (text == "debug") level = Level::debug;
    else if (text == "info") level = Level::info;
    else if (text == "warning" || text == "warn") level = Level::warning;
    else if (text == "error") level = Level::error;
    else return false;
    return true;
}

}  // namespace castera::log
