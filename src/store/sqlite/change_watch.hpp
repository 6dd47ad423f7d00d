// Tells cheaply whether an SQLite database in WAL mode may have changed, whoever changed it:
// this process, the command line, another castera, a Django process. Every commit appends to
// the "-wal" file, and inotify reports each such write; one non-blocking read of the inotify
// descriptor per question is far cheaper than a read transaction (which takes locks shared by
// every connection of the process). Local file systems only: inotify sees no other host's
// writes, so a database on a network share must not be cached on (see docs/DESIGN.md).
#pragma once

#include <cstdint>
#include <string>

namespace castera::sqlite {

class ChangeWatch {
public:
    explicit ChangeWatch(std::string wal_path);
    ChangeWatch(const ChangeWatch&) = delete;
    ChangeWatch& operator=(const ChangeWatch&) = delete;
    ~ChangeWatch();

    // A number that stays the same only while nothing was written to the database since the
    // previous call. When the watch cannot be set up, every call returns a new number.
    std::uint64_t stamp();

private:
    // Starts watching the WAL file; false when it cannot (not there yet, no inotify).
    bool arm();
    // Reads every pending event; true when there was any.
    bool drain();

    std::string wal_path_;
    int inotify_fd_ = -1;
    int watch_ = -1;
    std::uint64_t stamp_ = 0;
};

}  // namespace castera::sqlite
