#include "store/sqlite/change_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

namespace castera::sqlite {
namespace {

// A WAL file that goes away (all connections closed, a checkpoint that deletes it) or
// overflowing events: the watch must be set again, and anything may have changed meanwhile.
constexpr std::uint32_t kWatchLost = IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW;

}  // namespace

ChangeWatch::ChangeWatch(std::string wal_path) : wal_path_(std::move(wal_path)) {
    inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
}

ChangeWatch::~ChangeWatch() {
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

bool ChangeWatch::arm() {
    if (inotify_fd_ < 0) return false;
    watch_ = ::inotify_add_watch(inotify_fd_, wal_path_.c_str(), IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF);
    return watch_ >= 0;
}

bool ChangeWatch::drain() {
    alignas(inotify_event) char buffer[4096];
    bool any = false;
    for (;;) {
        ssize_t n = ::read(inotify_fd_, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EAGAIN: nothing more
        any = true;
        for (ssize_t at = 0; at < n;) {
            const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
            if (event->mask & kWatchLost) watch_ = -1;
            at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        }
    }
    return any;
}

std::uint64_t ChangeWatch::stamp() {
    if (watch_ < 0) {
        // Writes before the watch was set went unseen: whatever was learnt before is stale.
        ++stamp_;
        if (!arm()) return stamp_;
    }
    if (drain()) {
        ++stamp_;
        if (watch_ < 0) arm();
    }
    return stamp_;
}

}  // namespace castera::sqlite
