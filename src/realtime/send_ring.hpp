// One io_uring per event loop for sending: a loop's flush hands the kernel the frames of all
// its sockets in one system call instead of one sendmsg each (docs/DESIGN.md, "Real time").
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>

namespace castera::realtime {

class SendRing {
public:
    // Sends one submission may carry.
    static constexpr unsigned kEntries = 128;

    // The calling thread's ring, made on its first use; null where io_uring is unavailable
    // (turned off by the system, or refused by a seccomp profile such as containers' default).
    static SendRing* of_this_thread();

    SendRing(const SendRing&) = delete;
    SendRing& operator=(const SendRing&) = delete;
    ~SendRing();

    // Queues a non-blocking sendmsg of `msg`, which must stay valid until run() returns.
    void add(int fd, const msghdr* msg, std::uint64_t tag);
    // Submits what was queued, waits for it (sends that would block end at once with -EAGAIN),
    // and reports each send's result: bytes sent, or -errno. Returns false if the kernel did
    // not take them all: those not reported did not happen, and the ring is not used again.
    bool run(const std::function<void(std::uint64_t tag, int result)>& on_result);

private:
    SendRing() = default;

    io_uring ring_{};
    unsigned queued_ = 0;
    bool broken_ = false;
};

}  // namespace castera::realtime
