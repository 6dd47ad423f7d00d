#include "realtime/room_hub.hpp"

#include <algorithm>

namespace castera {

void RoomHub::join(Id meeting, const std::shared_ptr<RoomMember>& member) {
    std::lock_guard lock(mutex_);
    rooms_[meeting].push_back(member);
}

void RoomHub::leave(Id meeting, const RoomMember* member) {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(meeting);
    if (it == rooms_.end()) return;
    std::erase_if(it->second, [&](const std::weak_ptr<RoomMember>& weak) {
        auto strong = weak.lock();
        return !strong || strong.get() == member;
    });
    if (it->second.empty()) rooms_.erase(it);
}

// Copies the live members under the lock, so that delivery happens without holding it.
std::vector<std::shared_ptr<RoomMember>> RoomHub::members_of(Id meeting) {
    std::vector<std::shared_ptr<RoomMember>> out;
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(meeting);
    if (it == rooms_.end()) return out;
    out.reserve(it->second.size());
    for (auto& weak : it->second)
        if (auto strong = weak.lock()) out.push_back(std::move(strong));
    return out;
}

void RoomHub::broadcast(Id meeting, const Frame& frame, const RoomMember* except) {
    for (auto& member : members_of(meeting))
        if (member.get() != except) member->deliver(frame);
}

void RoomHub::close_all() {
    std::vector<std::shared_ptr<RoomMember>> everyone;
    {
        std::lock_guard lock(mutex_);
        for (auto& [meeting, members] : rooms_)
            for (auto& weak : members)
                if (auto strong = weak.lock()) everyone.push_back(std::move(strong));
    }
    for (auto& member : everyone) member->close_going_away();
}

std::size_t RoomHub::member_count(Id meeting) { return members_of(meeting).size(); }

}  // namespace castera
