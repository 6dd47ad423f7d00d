// What each client frame does in a room, without sockets: fake members in a real RoomHub, the
// in-process bus, the services on an in-memory store. Frames are judged by their JSON.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/parse.hpp>

#include "auth/credential_cache.hpp"
#include "auth/throttle.hpp"
#include "bus/room_bus.hpp"
#include "config/config.hpp"
#include "memory_store.hpp"
#include "realtime/frames.hpp"
#include "realtime/ice_servers.hpp"
#include "realtime/room_fanout.hpp"
#include "realtime/room_roster.hpp"
#include "realtime/room_session.hpp"
#include "run_task.hpp"
#include "util/time.hpp"

namespace castera {
namespace {

using namespace std::chrono;
using realtime::RoomSession;
using testing::run_task;

// A connection that keeps what it was sent and how it was closed.
class FakePeer final : public realtime::SessionPeer {
public:
    FakePeer(std::string peer_id, const User& user, bool typed, Loop loop, bool moderator = false)
        : SessionPeer(std::move(peer_id), user.id, user.email, typed, loop, moderator) {}

    void deliver(Frame frame) override { received.push_back(*frame); }
    void deliver_here(const Frame& frame) override { received.push_back(*frame); }
    void close_after_queue(std::uint16_t code, std::string) override { closed_with = code; }
    void send(const Frame& frame) override { received.push_back(*frame); }
    void send_welcome(Frame welcome, std::vector<Frame> kept) override {
        std::vector<std::string> first{*welcome};
        for (const Frame& f : kept) first.push_back(*f);
        received.insert(received.begin(), first.begin(), first.end());
    }
    void act(const RoomAction& action) override { actions.push_back(action); }
    void close_now(std::uint16_t code, std::string_view) override { closed_with = code; }

    // The frames received of one type, as JSON objects.
    std::vector<boost::json::object> of_type(std::string_view type) const {
        std::vector<boost::json::object> found;
        for (const std::string& text : received) {
            boost::json::value v = boost::json::parse(text);
            if (v.is_object() && v.as_object().contains("type") && v.as_object().at("type").as_string() == type)
                found.push_back(v.as_object());
        }
        return found;
    }
    std::string last_error_code() const {
        auto errors = of_type("error");
        return errors.empty() ? "" : std::string(errors.back().at("code").as_string());
    }

    std::vector<std::string> received;
    std::vector<RoomAction> actions;
    std::uint16_t closed_with = 0;
};

class RoomSessionTest : public ::testing::Test {
protected:
    void SetUp() override {
        owner = run_task(store.create_user(NewUser{.email = "owner@example.com", .password = "!x"}));
        guest = run_task(store.create_user(NewUser{.email = "guest@example.com", .password = "!x"}));
        meeting = run_task(store.create_meeting(Meeting{.title = "Room", .user_id = owner.id}));
        events.add(fanout);
    }

    // A member of the room with its session, speaking castera.v2 unless told otherwise.
    struct Member {
        std::shared_ptr<FakePeer> peer;
        std::unique_ptr<RoomSession> session;
    };
    Member join(const User& user, std::string peer_id, bool typed = true, bool waiting = false) {
        Member m;
        m.peer = std::make_shared<FakePeer>(std::move(peer_id), user, typed, io.get_executor(),
                                            services::is_moderator(user, meeting));
        hub.join(meeting.id, m.peer, 100, 100, waiting);
        m.session = std::make_unique<RoomSession>(deps, m.peer, user, meeting);
        return m;
    }
    // Runs a session's coroutine, and whatever it set going, to the end.
    void run(Task<void> task) {
        boost::asio::co_spawn(io, std::move(task), boost::asio::detached);
        io.run();
        io.restart();
    }
    // Runs what was posted to the loop (deliveries from outside it).
    void drain() {
        io.run();
        io.restart();
    }
    void say(Member& m, std::string_view frame) {
        run(m.session->on_message(frame, true));
        run(m.session->finish());
    }

    boost::asio::io_context io;
    testing::MemoryStore store;
    RoomHub hub;
    ProcessCounters process_counters;
    std::unique_ptr<RoomBus> bus = make_room_bus(Config{}, hub, process_counters);
    realtime::RoomFanout fanout{*bus};
    events::EventFanout events;
    boost::asio::thread_pool pool{1};
    services::PasswordHasher passwords{pool, 2};
    LoginThrottle throttle{5, 100, seconds(60)};
    CredentialCache credentials;
    LoopCounters counters;
    realtime::RoomRoster roster{hub, *bus};
    services::Services svc{services::Deps{store, events, passwords, throttle, credentials, counters, &roster}};
    realtime::RoomLimits limits;
    Config::Ice ice{.stun_urls = {"stun:stun.example.com:3478"}, .turn_urls = {"turn:turn.example.com:3478"},
                    .turn_secret = "coturn-secret"};
    realtime::RoomDeps deps{io.get_executor(), hub, *bus, svc, counters, limits, ice};
    User owner, guest;
    Meeting meeting;
};

TEST_F(RoomSessionTest, TheWelcomeNamesThePeerTheMeetingAndWhoIsThereWithTheirState) {
    run_task(store.set_participant_flag(meeting.id, guest.id, ParticipantFlag::raised_hand, true));
    Member b = join(guest, "peer-b");
    Member a = join(owner, "peer-a");
    run(a.session->send_welcome());
    auto welcome = a.peer->of_type("welcome");
    ASSERT_EQ(welcome.size(), 1u);
    EXPECT_EQ(welcome[0].at("peer_id").as_string(), "peer-a");
    EXPECT_EQ(welcome[0].at("meeting").at("room_id").as_string(), meeting.room_id);
    const auto& participants = welcome[0].at("participants").as_array();
    ASSERT_EQ(participants.size(), 2u);
    bool saw_guest = false;
    for (const auto& p : participants) {
        if (p.at("user_email").as_string() != "guest@example.com") continue;
        saw_guest = true;
        EXPECT_TRUE(p.at("state").at("raised_hand").as_bool());
    }
    EXPECT_TRUE(saw_guest);
    // The ICE servers, TURN with coturn's time-limited credential for this user.
    const auto& servers = welcome[0].at("ice_servers").as_array();
    ASSERT_EQ(servers.size(), 2u);
    EXPECT_EQ(servers[0].at("urls").at(0).as_string(), "stun:stun.example.com:3478");
    std::string username(servers[1].at("username").as_string());
    EXPECT_EQ(username.substr(username.find(':') + 1), std::to_string(owner.id)) << username;
    EXPECT_EQ(servers[1].at("credential").as_string(), realtime::turn_credential("coturn-secret", username));
}

// coturn's REST scheme: base64(HMAC-SHA1(secret, username)), checked against a value computed
// independently (python3 -c "import hmac,hashlib,base64; ...").
TEST(TurnCredential, IsCoturnsHmacSha1) {
    EXPECT_EQ(realtime::turn_credential("north", "1700000000:42"), "DWX3FI7DiPIpadEYQAZsnZBAagI=");
}

TEST_F(RoomSessionTest, AChatIsStoredAndReachesEveryoneInTheRoom) {
    Member a = join(owner, "peer-a");
    Member b = join(guest, "peer-b");
    say(b, R"({"type":"chat","content":"hello"})");
    auto messages = run_task(store.list_messages(meeting.id, std::nullopt, 0)).rows;
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0].user_id, guest.id);
    for (FakePeer* peer : {a.peer.get(), b.peer.get()}) {
        auto chats = peer->of_type("chat");
        ASSERT_EQ(chats.size(), 1u) << peer->peer_id;
        EXPECT_EQ(chats[0].at("content").as_string(), "hello");
        EXPECT_EQ(chats[0].at("id").as_int64(), messages[0].id);
    }
    EXPECT_EQ(counters.chats_stored.value(), 1u);
    EXPECT_EQ(counters.ws_frames_received.value(), 1u);
}

TEST_F(RoomSessionTest, ChatsReadOneAfterAnotherAreStoredAndPublishedInOrder) {
    Member a = join(guest, "peer-a");
    int before = store.commits;
    // Read one after another, with the store working meanwhile.
    boost::asio::co_spawn(io, a.session->on_message(R"({"type":"chat","content":"one"})", true), boost::asio::detached);
    boost::asio::co_spawn(io, a.session->on_message(R"({"type":"chat","content":"two"})", true), boost::asio::detached);
    boost::asio::co_spawn(io, a.session->on_message(R"({"type":"chat","content":"three"})", true), boost::asio::detached);
    io.run();
    io.restart();
    run(a.session->finish());
    auto chats = a.peer->of_type("chat");
    ASSERT_EQ(chats.size(), 3u);
    EXPECT_EQ(chats[0].at("content").as_string(), "one");
    EXPECT_EQ(chats[2].at("content").as_string(), "three");
    EXPECT_EQ(run_task(store.list_messages(meeting.id, std::nullopt, 0)).rows.at(1).content, "two");
    EXPECT_LE(store.commits - before, 3) << "never more than a commit a chat";
}

TEST_F(RoomSessionTest, ABadFrameGetsAnErrorAndTheConnectionStaysOpen) {
    Member a = join(owner, "peer-a");
    struct Case {
        std::string_view frame, code;
    };
    for (const Case& c : {Case{"not json", "invalid_json"},
                          Case{"[1,2]", "invalid_frame"},
                          Case{R"({"type":"dance"})", "unknown_type"},
                          Case{R"({"type":"chat","content":"  "})", "invalid_chat"},
                          Case{R"({"type":"participant_state","changes":{}})", "invalid_state"},
                          Case{R"({"type":"participant_state","changes":{"audio_muted":"yes"}})", "invalid_state"},
                          Case{R"({"type":"participant_state","changes":{"is_admin":true}})", "invalid_state"},
                          Case{R"({"type":"signal","to":"peer-x","signal_type":"hello","data":{}})", "invalid_signal"},
                          Case{R"({"type":"signal","to":"peer-x","signal_type":"offer","data":{}})", "invalid_signal"},
                          Case{R"({"type":"signal","to":"peer-x","signal_type":"offer","data":{"sdp":"v=0"}})",
                               "unknown_peer"},
                          Case{R"({"type":"signal","to":"peer-a","signal_type":"ice","data":{"candidate":""}})",
                               "unknown_peer"}}) {
        say(a, c.frame);
        EXPECT_EQ(a.peer->last_error_code(), c.code) << c.frame;
    }
    run(a.session->on_message("\x01\x02", false));
    EXPECT_EQ(a.peer->last_error_code(), "invalid_frame");
    EXPECT_EQ(a.peer->closed_with, 0) << "castera.v2 keeps the connection";
    EXPECT_TRUE(run_task(store.list_messages(meeting.id, std::nullopt, 0)).rows.empty());
}

TEST_F(RoomSessionTest, ASignalGoesToItsPeerOnlyAndIsKept) {
    Member a = join(owner, "peer-a");
    Member b = join(guest, "peer-b");
    Member c = join(guest, "peer-c");
    say(a, R"({"type":"signal","to":"peer-b","signal_type":"offer","data":{"sdp":"v=0"}})");
    auto signals = b.peer->of_type("signal");
    ASSERT_EQ(signals.size(), 1u);
    EXPECT_EQ(signals[0].at("from").as_string(), "peer-a");
    EXPECT_EQ(signals[0].at("data").at("sdp").as_string(), "v=0");
    EXPECT_TRUE(c.peer->of_type("signal").empty());
    EXPECT_TRUE(a.peer->of_type("error").empty());
    auto kept = store.signals();
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept[0].signal_type, "offer");
    EXPECT_EQ(kept[0].sender_id, owner.id);
}

TEST_F(RoomSessionTest, AStateChangeIsOneWriteAndEveryoneSeesIt) {
    Member a = join(owner, "peer-a");
    Member b = join(guest, "peer-b");
    int before = store.commits;
    say(b, R"({"type":"participant_state","changes":{"audio_muted":true,"raised_hand":true}})");
    EXPECT_EQ(store.commits, before + 1);
    auto state = run_task(store.find_participant_state(meeting.id, guest.id));
    ASSERT_TRUE(state);
    EXPECT_TRUE(state->audio_muted);
    EXPECT_TRUE(state->raised_hand);
    auto seen = a.peer->of_type("participant_state");
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].at("user").as_int64(), guest.id);
    EXPECT_TRUE(seen[0].at("state").at("audio_muted").as_bool());
}

TEST_F(RoomSessionTest, PingIsAnsweredWithItsId) {
    Member a = join(owner, "peer-a");
    say(a, R"({"type":"ping","id":7})");
    auto pongs = a.peer->of_type("pong");
    ASSERT_EQ(pongs.size(), 1u);
    EXPECT_EQ(pongs[0].at("id").as_int64(), 7);
}

TEST_F(RoomSessionTest, FramesOverTheRateAreRefused) {
    limits.message_burst = 3;
    limits.messages_per_second = 0.001;
    Member a = join(owner, "peer-a");
    for (int i = 0; i < 4; ++i) say(a, R"({"type":"ping"})");
    EXPECT_EQ(a.peer->of_type("pong").size(), 3u);
    EXPECT_EQ(a.peer->last_error_code(), "rate_limited");
    EXPECT_EQ(counters.ws_dropped_rate_limit.value(), 1u);
}

TEST_F(RoomSessionTest, TheOldProtocolClosesOnWhatItDoesNotUnderstand) {
    Member good = join(guest, "peer-g", false);
    say(good, R"({"message":"hi"})");
    EXPECT_EQ(run_task(store.list_messages(meeting.id, std::nullopt, 0)).rows.size(), 1u);
    EXPECT_EQ(good.peer->closed_with, 0);

    Member bad_json = join(guest, "peer-j", false);
    say(bad_json, "{");
    EXPECT_EQ(bad_json.peer->closed_with, realtime::kCloseInvalidJson);
    Member no_message = join(guest, "peer-m", false);
    say(no_message, R"({"content":"hi"})");
    EXPECT_EQ(no_message.peer->closed_with, realtime::kCloseUnsupported);
    Member binary = join(guest, "peer-b", false);
    run(binary.session->on_message("x", false));
    EXPECT_EQ(binary.peer->closed_with, realtime::kCloseUnsupported);
}

// What the databases cannot keep is refused in the frame, never left to fail in the store
// (PostgreSQL refuses NUL in text and \u0000 in jsonb; 1e400 reads as infinity, which is not
// JSON): the connection and the room go on.
TEST_F(RoomSessionTest, ChatsAndSignalsTheDatabasesCannotKeepAreRefusedInTheFrame) {
    Member a = join(owner, "peer-a");
    Member b = join(guest, "peer-b");
    for (std::string_view frame : {R"({"type":"chat","content":"a\u0000b"})", R"({"type":"chat","content":"\u0000"})",
                                   R"({"type":"chat","content":"psst\u0000","to":"peer-b"})"}) {
        say(a, frame);
        EXPECT_EQ(a.peer->last_error_code(), "invalid_chat") << frame;
    }
    for (std::string_view frame :
         {R"({"type":"signal","to":"peer-b","signal_type":"offer","data":{"sdp":"v=0\u0000"}})",
          R"({"type":"signal","to":"peer-b","signal_type":"offer","data":{"sdp":"v=0","k\u0000":1}})",
          R"({"type":"signal","to":"peer-b","signal_type":"offer","data":{"sdp":"v=0","n":1e400}})",
          R"({"type":"signal","to":"peer-b","signal_type":"ice","data":{"candidate":"c","x":[{"y":-1e400}]}})"}) {
        say(a, frame);
        EXPECT_EQ(a.peer->last_error_code(), "invalid_signal") << frame;
    }
    say(a, R"({"type":"ping","id":{"n":[1e400]}})");
    EXPECT_EQ(a.peer->last_error_code(), "invalid_frame");
    EXPECT_TRUE(a.peer->of_type("pong").empty());
    EXPECT_TRUE(b.peer->of_type("signal").empty()) << "refused before the relay";
    EXPECT_TRUE(b.peer->of_type("chat").empty());
    EXPECT_TRUE(store.signals().empty());
    EXPECT_EQ(a.peer->closed_with, 0);
    say(a, R"({"type":"chat","content":"still here"})");
    EXPECT_EQ(run_task(store.list_messages(meeting.id, std::nullopt, 0)).rows.size(), 1u);

    Member old = join(guest, "peer-o", false);
    say(old, R"({"message":"a\u0000b"})");
    EXPECT_EQ(old.peer->closed_with, realtime::kCloseUnsupported);
    EXPECT_EQ(run_task(store.list_messages(meeting.id, std::nullopt, 0)).rows.size(), 1u);
}

TEST_F(RoomSessionTest, AChatTheStoreCannotKeepClosesTheConnection) {
    Member a = join(owner, "peer-a");
    store.fail_next_commit = true;
    say(a, R"({"type":"chat","content":"lost"})");
    EXPECT_EQ(a.peer->closed_with, realtime::kCloseServerError);
    EXPECT_TRUE(a.peer->of_type("chat").empty()) << "nothing was acknowledged";
    EXPECT_EQ(counters.db_errors.value(), 1u);
}

// ---- room control (issue 23)

TEST_F(RoomSessionTest, TheWelcomeSaysTheRoleTheControlsAndTheLastChatsOldestFirst) {
    limits.history_messages = 2;
    for (const char* text : {"one", "two", "three"}) run_task(store.create_message(meeting.id, guest.id, text));
    Member a = join(owner, "peer-a");
    Member b = join(guest, "peer-b");
    run(a.session->send_welcome());
    run(b.session->send_welcome());
    auto wa = a.peer->of_type("welcome").at(0);
    auto wb = b.peer->of_type("welcome").at(0);
    EXPECT_EQ(wa.at("role").as_string(), "moderator");
    EXPECT_EQ(wb.at("role").as_string(), "participant");
    EXPECT_FALSE(wa.at("room").at("locked").as_bool());
    const auto& history = wa.at("history").as_array();
    ASSERT_EQ(history.size(), 2u);
    EXPECT_EQ(history[0].at("content").as_string(), "two");
    EXPECT_EQ(history[1].at("content").as_string(), "three");
    EXPECT_EQ(history[1].at("type").as_string(), "chat");
    EXPECT_TRUE(wa.at("resume_token").is_string());
    EXPECT_NE(wa.at("resume_token").as_string(), wb.at("resume_token").as_string());
    EXPECT_FALSE(wa.at("resumed").as_bool());
    EXPECT_TRUE(wa.contains("lobby")) << "moderators see the lobby";
    EXPECT_FALSE(wb.contains("lobby"));
    EXPECT_EQ(store.snapshots, 2) << "one snapshot (one statement) a welcome";
}

TEST_F(RoomSessionTest, WhoWaitsInTheLobbyGetsNothingOfTheRoomUntilAdmitted) {
    Member mod = join(owner, "peer-m");
    run(mod.session->enter());
    Member w = join(guest, "peer-w", true, true);
    w.session->wait_in_lobby();
    drain();
    ASSERT_EQ(w.peer->received.size(), 1u);
    EXPECT_EQ(w.peer->received[0], R"({"type":"lobby","status":"waiting"})");
    auto requests = mod.peer->of_type("lobby_request");
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].at("peer_id").as_string(), "peer-w");
    // Nothing of the room: chats, signals; its own frames but ping are refused.
    say(mod, R"({"type":"chat","content":"inside"})");
    say(mod, R"({"type":"signal","to":"peer-w","signal_type":"offer","data":{"sdp":"v=0"}})");
    EXPECT_EQ(mod.peer->last_error_code(), "unknown_peer");
    EXPECT_TRUE(w.peer->of_type("chat").empty());
    say(w, R"({"type":"chat","content":"let me in"})");
    EXPECT_EQ(w.peer->last_error_code(), "in_lobby");
    say(w, R"({"type":"ping","id":1})");
    EXPECT_EQ(w.peer->of_type("pong").size(), 1u);
    // A moderator's welcome lists those waiting.
    Member mod2 = join(owner, "peer-m2");
    run(mod2.session->send_welcome());
    const auto welcomes = mod2.peer->of_type("welcome");
    const auto& lobby = welcomes.at(0).at("lobby").as_array();
    ASSERT_EQ(lobby.size(), 1u);
    EXPECT_EQ(lobby[0].at("user").as_int64(), guest.id);
    for (const auto& p : welcomes.at(0).at("participants").as_array())
        EXPECT_NE(p.at("peer_id").as_string(), "peer-w") << "a waiting peer is not in the room";
    // Admitted: the welcome, then it is in the room.
    w.session->act(RoomAction{.kind = RoomAction::Kind::admit, .user = guest.id, .by = owner.id});
    run(w.session->finish());
    EXPECT_FALSE(w.session->waiting());
    EXPECT_TRUE(w.session->in_room());
    EXPECT_EQ(w.peer->of_type("welcome").size(), 1u);
    say(mod, R"({"type":"chat","content":"welcome in"})");
    EXPECT_EQ(w.peer->of_type("chat").size(), 1u);
}

TEST_F(RoomSessionTest, ModerationIsForModeratorsOnPeopleOfTheMeetingAndNeverThemselves) {
    User stranger = run_task(store.create_user(NewUser{.email = "x@example.com", .password = "!x"}));
    Member mod = join(owner, "peer-m");
    Member p = join(guest, "peer-p");
    run(mod.session->enter());
    run(p.session->enter());
    auto frame = [](std::string_view action, Id user) {
        return R"({"type":"moderate","action":")" + std::string(action) + R"(","user":)" + std::to_string(user) + "}";
    };
    say(p, frame("mute_audio", owner.id));
    EXPECT_EQ(p.peer->last_error_code(), "forbidden");
    for (const std::string& bad : {frame("mute_audio", owner.id), frame("explode", guest.id), frame("kick", stranger.id),
                                   frame("kick", 999999), std::string(R"({"type":"moderate","action":"kick"})"),
                                   std::string(R"({"type":"moderate","action":"kick","user":"2"})"),
                                   frame("deny", guest.id)}) {
        std::size_t errors = mod.peer->of_type("error").size();
        say(mod, bad);
        EXPECT_EQ(mod.peer->of_type("error").size(), errors + 1) << bad;
        EXPECT_EQ(mod.peer->last_error_code(), "invalid_moderation") << bad;
    }
    EXPECT_TRUE(run_task(store.find_room_settings(meeting.id)).banned.empty());
    // A moderator turns things off; the room is told who did it.
    say(mod, frame("mute_audio", guest.id));
    auto pushed = p.peer->of_type("participant_state");
    ASSERT_FALSE(pushed.empty());
    EXPECT_TRUE(pushed.back().at("state").at("audio_muted").as_bool());
    EXPECT_EQ(pushed.back().at("by").as_int64(), owner.id);
    // A kick bans, and reaches the user's connections.
    say(mod, frame("kick", guest.id));
    EXPECT_EQ(run_task(store.find_room_settings(meeting.id)).banned, std::vector<Id>{guest.id});
    ASSERT_EQ(p.peer->actions.size(), 1u);
    EXPECT_EQ(p.peer->actions[0].kind, RoomAction::Kind::kick);
    p.session->act(p.peer->actions[0]);
    EXPECT_EQ(p.peer->of_type("kicked").at(0).at("by").as_int64(), owner.id);
    EXPECT_EQ(p.peer->closed_with, kCloseRemoved);
}

TEST_F(RoomSessionTest, APrivateChatReachesItsPeerAndItsSenderOnlyAndIsNotStored) {
    Member a = join(owner, "peer-a");
    Member b = join(guest, "peer-b");
    Member c = join(guest, "peer-c");
    say(a, R"({"type":"chat","content":"psst","to":"peer-b"})");
    auto got = b.peer->of_type("chat");
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].at("private").as_bool());
    EXPECT_EQ(got[0].at("from").as_string(), "peer-a");
    EXPECT_EQ(got[0].at("to").as_string(), "peer-b");
    EXPECT_EQ(a.peer->of_type("chat").size(), 1u) << "echoed";
    EXPECT_TRUE(c.peer->of_type("chat").empty());
    EXPECT_TRUE(run_task(store.list_messages(meeting.id, std::nullopt, 0)).rows.empty());
    for (const char* bad : {R"({"type":"chat","content":"x","to":"peer-zz"})", R"({"type":"chat","content":"x","to":7})",
                            R"({"type":"chat","content":"x","to":"peer-a"})"}) {
        say(a, bad);
        EXPECT_EQ(a.peer->last_error_code(), "unknown_peer") << bad;
    }
}

TEST_F(RoomSessionTest, LeavingTellsTheRoomOnceAndArrivalsAndDeparturesCountPeople) {
    // What the webhooks hear: a person's first connection arrives, their last one leaves.
    struct Seen final : events::EventSink {
        std::vector<std::string> events;
        void stage(const events::Event& e, Transaction&, std::optional<Transaction::Ref>) override { note(e); }
        void publish(const events::Event&) override {}
        void note(const events::Event& e) {
            if (const auto* j = std::get_if<events::ParticipantJoined>(&e)) events.push_back("joined " + j->user_email);
            if (const auto* l = std::get_if<events::ParticipantLeft>(&e)) events.push_back("left " + l->user_email);
        }
    } seen;
    events.add(seen);
    deps.announce_presence = true;
    // Each in the room before the next arrives.
    Member a = join(owner, "peer-a");
    run(a.session->enter());
    Member b1 = join(guest, "peer-b1");
    run(b1.session->enter());
    Member b2 = join(guest, "peer-b2");
    run(b2.session->enter());
    for (Member* m : {&b1, &b2}) {
        bool was_in_room = m->session->leave();
        EXPECT_TRUE(was_in_room);
        run(m->session->announce_departure());
    }
    drain();
    EXPECT_EQ(seen.events, (std::vector<std::string>{"joined " + owner.email, "joined " + guest.email,
                                                     "left " + guest.email}));
    auto presence = a.peer->of_type("presence");
    int left = 0;
    for (const auto& p : presence) left += p.at("event").as_string() == "left";
    EXPECT_EQ(left, 2);
}

TEST(ResumeTokens, AreSingleUseAndBoundToTheMeetingAndTheUser) {
    boost::asio::io_context io;
    User u{.id = 7, .email = "u@example.com"};
    auto member = std::make_shared<FakePeer>("peer-r", u, true, io.get_executor());
    ResumeTokens tokens;
    std::string token = tokens.issue(3, member);
    EXPECT_TRUE(tokens.valid(token, 3, 7));
    EXPECT_FALSE(tokens.valid(token, 3, 8));
    EXPECT_FALSE(tokens.valid(token, 4, 7));
    EXPECT_EQ(tokens.take(token, 3, 8), nullptr) << "another user's attempt";
    EXPECT_TRUE(tokens.valid(token, 3, 7)) << "leaves the token to its user";
    EXPECT_EQ(tokens.take(token, 3, 7), member);
    EXPECT_EQ(tokens.take(token, 3, 7), nullptr) << "used";
    std::string second = tokens.issue(3, member);
    std::string third = tokens.issue(3, member);
    EXPECT_FALSE(tokens.valid(second, 3, 7)) << "a new token replaces the old one";
    tokens.forget(member.get());
    EXPECT_FALSE(tokens.valid(third, 3, 7));
    EXPECT_EQ(tokens.size(), 0u);
}

}  // namespace
}  // namespace castera
