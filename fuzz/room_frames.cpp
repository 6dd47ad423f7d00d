// Fuzz target: the frames a client sends into a meeting's room, handled by the real
// RoomSession (realtime/room_session.cpp) in either protocol: the compatible one
// ({"message": ...}) and castera.v2 (typed frames: chat, private chat, signal,
// participant_state, moderate, ping). A fresh room per input, over the seeded in-memory store,
// the in-process bus and a real RoomHub, with a second participant (bob, peer "peer-b") to
// receive, be signalled and be moderated. The first byte chooses the protocol, who speaks
// (alice, the meeting's owner and a moderator; bob; the admin) and whether they start in the
// lobby; then one frame per line. Text that is not UTF-8 arrives as a binary frame, as the
// WebSocket reader would let only binary frames carry it.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <array>
#include <cstdint>

#include "auth/credential_cache.hpp"
#include "auth/throttle.hpp"
#include "bus/room_bus.hpp"
#include "fuzz_world.hpp"
#include "realtime/room_fanout.hpp"
#include "realtime/room_roster.hpp"
#include "realtime/room_session.hpp"
#include "util/validate.hpp"

namespace {

using namespace castera;
using namespace std::chrono;
using realtime::RoomSession;

// More frames than this add nothing (the rate limit's burst is 60).
constexpr int kMaxFrames = 96;

// A connection that drops what it is sent, hands moderators' actions to its session as the
// real one does, and stops reading once closed.
class FakePeer final : public realtime::SessionPeer {
public:
    using SessionPeer::SessionPeer;
    void deliver(Frame) override {}
    void deliver_here(const Frame&) override {}
    void close_after_queue(std::uint16_t, std::string) override { closed = true; }
    void send(const Frame&) override {}
    void send_welcome(Frame, std::vector<Frame>) override {}
    void act(const RoomAction& action) override {
        if (session) session->act(action);
    }
    void close_now(std::uint16_t, std::string_view) override { closed = true; }

    RoomSession* session = nullptr;
    bool closed = false;
};

// The seeded world, made once; each room starts from a copy.
const testing::MemoryStore& seeded_store() {
    static const testing::MemoryStore store = [] {
        testing::MemoryStore s;
        fuzz::seed(s);
        return s;
    }();
    return store;
}

boost::asio::thread_pool& hashing() {
    static boost::asio::thread_pool pool{1};
    return pool;
}

// Everything a room session stands on, for one input.
struct Room {
    boost::asio::io_context io;
    testing::MemoryStore store{seeded_store()};
    RoomHub hub;
    ProcessCounters process_counters;
    std::unique_ptr<RoomBus> bus = make_room_bus(Config{}, hub, process_counters);
    realtime::RoomFanout fanout{*bus};
    events::EventFanout events;
    services::PasswordHasher passwords{hashing(), fuzz::kPasswordIterations};
    LoginThrottle throttle{5, 100, seconds(60)};
    CredentialCache credentials;
    LoopCounters counters;
    realtime::RoomRoster roster{hub, *bus};
    services::Services svc{services::Deps{store, events, passwords, throttle, credentials, counters, &roster}};
    realtime::RoomLimits limits;
    Config::Ice ice{.stun_urls = {"stun:stun.example.com:3478"},
                    .turn_urls = {"turn:turn.example.com:3478"},
                    .turn_secret = "fuzz-turn-secret"};
    realtime::RoomDeps deps{io.get_executor(), hub, *bus, svc, counters, limits, ice};
    User speaker, other;
    Meeting meeting;

    Room() { events.add(fanout); }

    // Runs a session's coroutine, and whatever it set going, to the end.
    void run(Task<void> task) {
        boost::asio::co_spawn(io, std::move(task), boost::asio::detached);
        io.run();
        io.restart();
    }
};

struct Member {
    std::shared_ptr<FakePeer> peer;
    std::unique_ptr<RoomSession> session;
};

// `user` in the room (or its lobby), with its session.
Member join(Room& room, const User& user, std::string peer_id, bool typed, bool waiting) {
    Member m;
    m.peer = std::make_shared<FakePeer>(std::move(peer_id), user.id, user.email, typed, room.io.get_executor(),
                                        services::is_moderator(user, room.meeting));
    room.hub.join(room.meeting.id, m.peer, 100, 100, waiting);
    m.session = std::make_unique<RoomSession>(room.deps, m.peer, user, room.meeting);
    m.peer->session = m.session.get();
    return m;
}

// What the transport does when a connection ends.
void end(Room& room, Member& m) {
    room.run(m.session->finish());
    m.session->leave();
    m.peer->session = nullptr;
}

// The frames of the input, one per line, as the session would receive them.
void speak(Room& room, Member& m, std::string_view frames) {
    for (int i = 0; i < kMaxFrames && !m.peer->closed; ++i) {
        std::size_t eol = frames.find('\n');
        std::string_view frame = frames.substr(0, eol);
        room.run(m.session->on_message(frame, is_well_formed_utf8(frame)));
        if (eol == std::string_view::npos) break;
        frames.remove_prefix(eol + 1);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool typed = (data[0] & 1) != 0;
    const Id speaker = std::array<Id, 3>{fuzz::kAliceId, fuzz::kBobId, fuzz::kAdminId}[(data[0] >> 1) % 3];
    const bool lobby = typed && (data[0] & 8) != 0;
    std::string_view frames(reinterpret_cast<const char*>(data) + 1, size - 1);

    Room room;
    room.meeting = *fuzz::run_task(room.store.find_meeting_by_room(std::string(fuzz::kRoomOne)));
    User user = *fuzz::run_task(room.store.find_user(speaker));
    User bob = *fuzz::run_task(room.store.find_user(fuzz::kBobId));
    Member other = join(room, bob, "peer-b", true, false);
    room.run(other.session->enter());
    Member me = join(room, user, "peer-a", typed, lobby);
    if (lobby) me.session->wait_in_lobby();
    else room.run(me.session->enter());
    speak(room, me, frames);
    end(room, me);
    end(room, other);
    room.io.run();
    return 0;
}
