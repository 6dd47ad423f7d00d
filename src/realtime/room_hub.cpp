#include "realtime/room_hub.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace castera {

RoomHub::Admission RoomHub::fits(Id meeting, Id user, int max_per_room, int max_per_user) {
    auto room = rooms_.find(meeting);
    if (room != rooms_.end() && static_cast<int>(room->second.size()) >= max_per_room) return Admission::room_full;
    auto count = per_user_.find(user);
    if (count != per_user_.end() && count->second >= max_per_user) return Admission::too_many_for_user;
    return Admission::allowed;
}

RoomHub::Admission RoomHub::check(Id meeting, Id user, int max_per_room, int max_per_user) {
    std::lock_guard lock(mutex_);
    return fits(meeting, user, max_per_room, max_per_user);
}

RoomHub::Admission RoomHub::join(Id meeting, const std::shared_ptr<RoomMember>& member, int max_per_room,
                                 int max_per_user) {
    std::lock_guard lock(mutex_);
    Admission verdict = fits(meeting, member->user_id, max_per_room, max_per_user);
    if (verdict != Admission::allowed) return verdict;
    rooms_[meeting].push_back(member);
    ++per_user_[member->user_id];
    return verdict;
}

void RoomHub::leave(Id meeting, const RoomMember* member) {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(meeting);
    if (it == rooms_.end()) return;
    auto before = it->second.size();
    std::erase_if(it->second, [&](const std::weak_ptr<RoomMember>& weak) {
        auto strong = weak.lock();
        return !strong || strong.get() == member;
    });
    if (it->second.size() != before) {
        if (auto count = per_user_.find(member->user_id); count != per_user_.end() && --count->second <= 0)
            per_user_.erase(count);
    }
    if (it->second.empty()) rooms_.erase(it);
}

// Copies the live members under the lock, so that delivery happens without holding it.
std::vector<std::shared_ptr<RoomMember>> RoomHub::members(Id meeting) {
    std::vector<std::shared_ptr<RoomMember>> out;
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(meeting);
    if (it == rooms_.end()) return out;
    out.reserve(it->second.size());
    for (auto& weak : it->second)
        if (auto strong = weak.lock()) out.push_back(std::move(strong));
    return out;
}

namespace {

// The receivers of an event on one event loop.
struct LoopShare {
    RoomMember::Loop loop;
    std::vector<std::shared_ptr<RoomMember>> members;
};

void deliver_share(const RoomEvent& event, const std::vector<std::shared_ptr<RoomMember>>& members) {
    for (const auto& member : members) member->deliver_here(member->typed ? event.typed : event.compat);
}

}  // namespace

// One handler per event loop rather than one per member: a loop gets a room's event in one
// wake-up and hands it to its members in one turn, and the loops work in parallel, the
// caller's own last.
void RoomHub::broadcast(Id meeting, const RoomEvent& event, const RoomMember* except) {
    std::vector<LoopShare> shares;
    for (auto& member : members(meeting)) {
        if (member.get() == except || !(member->typed ? event.typed : event.compat)) continue;
        auto share = std::find_if(shares.begin(), shares.end(), [&](const LoopShare& s) { return s.loop == member->loop; });
        if (share == shares.end()) share = shares.insert(shares.end(), LoopShare{member->loop, {}});
        share->members.push_back(std::move(member));
    }
    LoopShare* here = nullptr;
    for (auto& share : shares) {
        if (share.loop.running_in_this_thread()) here = &share;
        else boost::asio::post(share.loop, [event, members = std::move(share.members)] { deliver_share(event, members); });
    }
    if (here) deliver_share(event, here->members);
}

bool RoomHub::send_to_peer(Id meeting, std::string_view peer_id, const Frame& frame) {
    for (auto& member : members(meeting))
        if (member->peer_id == peer_id) {
            member->deliver(frame);
            return true;
        }
    return false;
}

void RoomHub::close_room(Id meeting, std::uint16_t code, const std::string& reason) {
    for (auto& member : members(meeting)) member->close_after_queue(code, reason);
}

void RoomHub::close_all(std::uint16_t code, const std::string& reason) {
    std::vector<std::shared_ptr<RoomMember>> everyone;
    {
        std::lock_guard lock(mutex_);
        for (auto& [meeting, members] : rooms_)
            for (auto& weak : members)
                if (auto strong = weak.lock()) everyone.push_back(std::move(strong));
    }
    for (auto& member : everyone) member->close_after_queue(code, reason);
}

std::size_t RoomHub::member_count(Id meeting) { return members(meeting).size(); }

std::size_t RoomHub::room_count() {
    std::lock_guard lock(mutex_);
    return rooms_.size();
}

}  // namespace castera
