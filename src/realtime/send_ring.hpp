// One io_uring per event loop for sending: a loop's flush hands the kernel the frames of all
// its sockets in one system call instead of one sendmsg each (docs/DESIGN.md, "Real time").
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <thread>
#include <utility>

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
    // and reports each send's result, on_result(std::uint64_t tag, int result): bytes sent, or
    // -errno. Returns false if the kernel did not take them all: those not reported did not
    // happen, and the ring is not used again. A template, so that a flush's callback is not
    // copied into a std::function (a heap allocation) on every submission.
    template <class OnResult>
    bool run(OnResult&& on_result);

private:
    SendRing() = default;

    io_uring ring_{};
    unsigned queued_ = 0;
    bool broken_ = false;
};

inline void SendRing::add(int fd, const msghdr* msg, std::uint64_t tag) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);  // never null: callers queue at most kEntries
    // MSG_DONTWAIT makes a send that would block complete with -EAGAIN rather than wait in the
    // kernel: the socket then waits for room as a sendmsg's would.
    io_uring_prep_sendmsg(sqe, fd, msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag);
    ++queued_;
}

template <class OnResult>
bool SendRing::run(OnResult&& on_result) {
    unsigned queued = std::exchange(queued_, 0);
    if (queued == 0) return true;
    int submitted;
    do submitted = io_uring_submit(&ring_);
    while (submitted == -EINTR);  // nothing was submitted then
    // A send that would block ends at once with -EAGAIN, so the results of the sends submitted
    // are there when the submission returns, or soon after. Sends the kernel did not take stay
    // in the ring, which is not used again: they must never leave later, after the frames their
    // sockets send meanwhile.
    unsigned expected = submitted > 0 ? static_cast<unsigned>(submitted) : 0;
    for (unsigned seen = 0; seen < expected;) {
        io_uring_cqe* cqe;
        unsigned head, n = 0;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            on_result(io_uring_cqe_get_data64(cqe), cqe->res);
            ++n;
        }
        io_uring_cq_advance(&ring_, n);
        seen += n;
        if (n == 0 && io_uring_wait_cqe(&ring_, &cqe) < 0) std::this_thread::yield();
    }
    broken_ = expected < queued;
    return !broken_;
}

}  // namespace castera::realtime
