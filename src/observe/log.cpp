#include "observe/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "util/json_writer.hpp"
#include "util/time.hpp"

namespace castera::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<int> g_format{static_cast<int>(Format::text)};

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

std::string format_text(Level level, std::string_view component, std::string_view message,
                        std::initializer_list<Field> fields) {
    std::string line;
    line.reserve(96 + message.size());
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
    return line;
}

std::string format_json(Level level, std::string_view component, std::string_view message,
                        std::initializer_list<Field> fields) {
    std::string line;
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
    return line;
}

// Formatted lines go here; a thread of its own writes them, so a slow standard error holds
// nobody up. Made on first use and kept until the process ends.
class Sink {
public:
    static Sink& instance() {
        // Never destroyed: threads may still log while static objects are being torn down.
        static Sink* sink = new Sink();
        return *sink;
    }

    void push(std::string line) {
        {
            std::lock_guard lock(mutex_);
            if (pending_.size() + line.size() > kMaxBacklog) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            pending_ += line;
            ++written_;
        }
        wake_.notify_one();
    }

    void flush() {
        std::unique_lock lock(mutex_);
        std::uint64_t target = written_;
        done_.wait_for(lock, std::chrono::seconds(5), [&] { return flushed_ >= target; });
    }

    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    static constexpr std::size_t kMaxBacklog = 4 << 20;

    Sink() : thread_([this] { run(); }) { thread_.detach(); }

    void run() {
        std::string batch;
        for (;;) {
            std::uint64_t upto;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return !pending_.empty(); });
                batch.swap(pending_);
                upto = written_;
            }
            write_all(batch);
            batch.clear();
            {
                std::lock_guard lock(mutex_);
                flushed_ = upto;
            }
            done_.notify_all();
        }
    }

    static void write_all(std::string_view text) {
        while (!text.empty()) {
            ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;  // nowhere to write: the lines are lost, as on a closed stderr
            text.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::string pending_;
    std::uint64_t written_ = 0;
    std::uint64_t flushed_ = 0;
    std::atomic<std::uint64_t> dropped_{0};
    std::thread thread_;
};

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
    Sink::instance().push(json ? format_json(level, component, message, fields)
                               : format_text(level, component, message, fields));
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
