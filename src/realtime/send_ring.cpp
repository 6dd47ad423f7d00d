#include "realtime/send_ring.hpp"

#include <cerrno>
#include <memory>
#include <thread>
#include <utility>

namespace castera::realtime {

SendRing* SendRing::of_this_thread() {
    thread_local std::unique_ptr<SendRing> ring = [] {
        std::unique_ptr<SendRing> made(new SendRing);
        if (io_uring_queue_init(kEntries, &made->ring_, 0) != 0) made.reset();
        return made;
    }();
    return ring && !ring->broken_ ? ring.get() : nullptr;
}

SendRing::~SendRing() { io_uring_queue_exit(&ring_); }

void SendRing::add(int fd, const msghdr* msg, std::uint64_t tag) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);  // never null: callers queue at most kEntries
    // MSG_DONTWAIT makes a send that would block complete with -EAGAIN rather than wait in the
    // kernel: the socket then waits for room as a sendmsg's would.
    io_uring_prep_sendmsg(sqe, fd, msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag);
    ++queued_;
}

bool SendRing::run(const std::function<void(std::uint64_t tag, int result)>& on_result) {
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
