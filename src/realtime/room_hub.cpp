#include "realtime/room_hub.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

#include "util/cpu.hpp"
#include "util/encoding.hpp"
#include "util/random.hpp"

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
                                 int max_per_user, bool waiting) {
    std::lock_guard lock(mutex_);
    Admission verdict = fits(meeting, member->user_id, max_per_room, max_per_user);
    if (verdict != Admission::allowed) return verdict;
    rooms_[meeting].push_back(Entry{member, member.get(), member->typed, member->moderator, waiting, member->loop});
    ++per_user_[member->user_id];
    return verdict;
}

bool RoomHub::admit(Id meeting, const RoomMember* member) {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(meeting);
    if (it == rooms_.end()) return false;
    for (Entry& entry : it->second)
        if (entry.raw == member && entry.waiting) {
            entry.waiting = false;
            return true;
        }
    return false;
}

bool RoomHub::replace(Id meeting, const RoomMember* dropped, const std::shared_ptr<RoomMember>& successor) {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(meeting);
    if (it == rooms_.end()) return false;
    for (Entry& entry : it->second)
        if (entry.raw == dropped) {
            entry = Entry{successor, successor.get(), successor->typed, successor->moderator, false, successor->loop};
            return true;
        }
    return false;
}

void RoomHub::leave(Id meeting, const RoomMember* member) {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(meeting);
    if (it == rooms_.end()) return;
    bool was_there = false;
    std::erase_if(it->second, [&](const Entry& entry) {
        if (entry.raw != member) return entry.member.expired();
        was_there = true;
        return true;
    });
    if (was_there) {
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
    for (auto& entry : it->second)
        if (!entry.waiting)
            if (auto strong = entry.member.lock()) out.push_back(std::move(strong));
    return out;
}

std::vector<std::shared_ptr<RoomMember>> RoomHub::waiting(Id meeting) {
    std::vector<std::shared_ptr<RoomMember>> out;
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(meeting);
    if (it == rooms_.end()) return out;
    for (auto& entry : it->second)
        if (entry.waiting)
            if (auto strong = entry.member.lock()) out.push_back(std::move(strong));
    return out;
}

std::vector<std::shared_ptr<RoomMember>> RoomHub::all_members(Id meeting) {
    std::vector<std::shared_ptr<RoomMember>> out;
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(meeting);
    if (it == rooms_.end()) return out;
    for (auto& entry : it->second)
        if (auto strong = entry.member.lock()) out.push_back(std::move(strong));
    return out;
}

RoomHub::UserHere RoomHub::find_user(Id meeting, Id user) {
    UserHere out;
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(meeting);
    if (it == rooms_.end()) return out;
    for (auto& entry : it->second) {
        if (entry.member.expired()) continue;
        auto member = entry.member.lock();
        if (!member || member->user_id != user) continue;
        (entry.waiting ? out.waiting : out.in_room) = true;
    }
    return out;
}

void RoomHub::act(Id meeting, const RoomAction& action) {
    if (action.kind == RoomAction::Kind::release) {
        if (auto member = resume_.take_hashed(action.token_hash, meeting, action.user)) member->act(action);
        return;
    }
    std::vector<std::shared_ptr<RoomMember>> concerned;
    {
        std::lock_guard lock(mutex_);
        auto it = rooms_.find(meeting);
        if (it == rooms_.end()) return;
        for (auto& entry : it->second) {
            auto member = entry.member.lock();
            if (!member) continue;
            bool everyone_waiting = action.kind == RoomAction::Kind::open_lobby && action.user == 0;
            if (everyone_waiting ? entry.waiting : member->user_id == action.user) concerned.push_back(std::move(member));
        }
    }
    for (auto& member : concerned) member->act(action);
}

namespace {

const Frame& frame_for(const RoomEvent& event, bool typed) { return typed ? event.typed : event.compat; }

bool same_member(const std::weak_ptr<RoomMember>& a, const std::weak_ptr<RoomMember>& b) {
    return !a.owner_before(b) && !b.owner_before(a);
}

}  // namespace

bool RoomHub::receives(const Entry& entry, const RoomEvent& event) {
    return !entry.waiting && frame_for(event, entry.typed) && (!event.moderators_only || entry.moderator);
}

// One handler per event loop with members to reach rather than one per member: a loop gets a
// room's event in one wake-up and hands it to its members in one turn, and the loops work in
// parallel. The caller's own loop takes its members in the same pass under the lock and
// serves them last; the others take theirs when they run the event, after this caller has
// let go of the lock, so that the loops do not queue for it just as they start.
//
// In parallel only if the loops run on different CPUs, which the kernel alone may not see to
// (docs/DESIGN.md, "Threads and loops"): a loop handed an event by a loop running on its own
// CPU moves off it first.
void RoomHub::broadcast(Id meeting, const RoomEvent& event, const RoomMember* except) {
    std::weak_ptr<RoomMember> excepted;
    std::vector<RoomMember::Loop> other_loops;
    std::vector<std::shared_ptr<RoomMember>> here;
    bool from_a_loop = false;  // one of the room's loops calls, not another thread (the Redis bus's)
    {
        std::lock_guard lock(mutex_);
        auto it = rooms_.find(meeting);
        if (it == rooms_.end()) return;
        for (const Entry& entry : it->second) {
            bool on_this_loop = entry.loop.running_in_this_thread();
            from_a_loop = from_a_loop || on_this_loop;
            if (entry.raw == except) {
                excepted = entry.member;
            } else if (!receives(entry, event)) {
                continue;
            } else if (on_this_loop) {
                if (auto member = entry.member.lock()) here.push_back(std::move(member));
            } else if (std::find(other_loops.begin(), other_loops.end(), entry.loop) == other_loops.end()) {
                other_loops.push_back(entry.loop);
            }
        }
    }
    int poster_cpu = from_a_loop && !other_loops.empty() ? current_cpu() : -1;
    for (const auto& loop : other_loops)
        boost::asio::post(loop, [this, meeting, event, excepted, loop, poster_cpu] {
            move_off_cpu(poster_cpu);
            deliver_on_this_loop(meeting, event, excepted, loop);
        });
    for (const auto& member : here) member->deliver_here(frame_for(event, member->typed));
}

// The room's members on `loop` (the calling thread's), taken now, then served without the lock.
void RoomHub::deliver_on_this_loop(Id meeting, const RoomEvent& event, const std::weak_ptr<RoomMember>& except,
                                   RoomMember::Loop loop) {
    std::vector<std::shared_ptr<RoomMember>> receivers;
    {
        std::lock_guard lock(mutex_);
        auto it = rooms_.find(meeting);
        if (it == rooms_.end()) return;
        receivers.reserve(it->second.size());
        for (const Entry& entry : it->second) {
            if (entry.loop != loop || !receives(entry, event) || same_member(entry.member, except)) continue;
            if (auto member = entry.member.lock()) receivers.push_back(std::move(member));
        }
    }
    for (const auto& member : receivers) member->deliver_here(frame_for(event, member->typed));
}

bool RoomHub::send_to_peer(Id meeting, std::string_view peer_id, const Frame& frame) {
    for (auto& member : members(meeting))
        if (member->peer_id == peer_id) {
            if (!member->typed) return false;
            member->deliver(frame);
            return true;
        }
    return false;
}

// Those waiting in the lobby too.
void RoomHub::close_room(Id meeting, std::uint16_t code, const std::string& reason) {
    for (auto& member : all_members(meeting)) member->close_after_queue(code, reason);
}

void RoomHub::close_all(std::uint16_t code, const std::string& reason) {
    std::vector<std::shared_ptr<RoomMember>> everyone;
    {
        std::lock_guard lock(mutex_);
        for (auto& [meeting, entries] : rooms_)
            for (auto& entry : entries)
                if (auto strong = entry.member.lock()) everyone.push_back(std::move(strong));
    }
    for (auto& member : everyone) member->close_after_queue(code, reason);
}

std::size_t RoomHub::member_count(Id meeting) { return members(meeting).size(); }

// ---- resume tokens

std::string ResumeTokens::issue(Id meeting, const std::shared_ptr<RoomMember>& member) {
    std::string token = "r_" + random_token(32);
    std::string hash = sha256_hex(token);
    std::lock_guard lock(mutex_);
    if (auto old = hash_of_.find(member.get()); old != hash_of_.end()) {
        by_hash_.erase(old->second);
        hash_of_.erase(old);
    }
    by_hash_[hash] = Entry{meeting, member->user_id, member, member.get()};
    hash_of_[member.get()] = std::move(hash);
    return token;
}

std::shared_ptr<RoomMember> ResumeTokens::take_hashed(const std::string& hash, Id meeting, Id user) {
    std::lock_guard lock(mutex_);
    auto it = by_hash_.find(hash);
    if (it == by_hash_.end() || it->second.meeting != meeting || it->second.user != user) return nullptr;
    std::shared_ptr<RoomMember> member = it->second.member.lock();
    hash_of_.erase(it->second.raw);
    by_hash_.erase(it);
    return member;
}

std::shared_ptr<RoomMember> ResumeTokens::take(std::string_view token, Id meeting, Id user) {
    return take_hashed(sha256_hex(token), meeting, user);
}

bool ResumeTokens::valid(std::string_view token, Id meeting, Id user) {
    std::string hash = sha256_hex(token);
    std::lock_guard lock(mutex_);
    auto it = by_hash_.find(hash);
    return it != by_hash_.end() && it->second.meeting == meeting && it->second.user == user &&
           !it->second.member.expired();
}

void ResumeTokens::forget(const RoomMember* member) {
    std::lock_guard lock(mutex_);
    auto it = hash_of_.find(member);
    if (it == hash_of_.end()) return;
    by_hash_.erase(it->second);
    hash_of_.erase(it);
}

std::size_t ResumeTokens::size() {
    std::lock_guard lock(mutex_);
    return by_hash_.size();
}

std::size_t RoomHub::room_count() {
    std::lock_guard lock(mutex_);
    return rooms_.size();
}

}  // namespace castera
