#include "realtime/send_ring.hpp"

#include <memory>

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

}  // namespace castera::realtime
