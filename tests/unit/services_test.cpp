// The use cases on an in-memory store with a recording event sink: who may do what, what is
// written together, and which events come out (and none when a use case refuses or fails).
#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>

#include "auth/credential_cache.hpp"
#include "auth/password.hpp"
#include "auth/throttle.hpp"
#include "memory_store.hpp"
#include "run_task.hpp"
#include "services/services.hpp"
#include "util/time.hpp"

namespace castera {
namespace {

using services::Actor;
using services::ChatChannel;
using services::Refusal;
using testing::run_task;
using namespace std::chrono;

// Keeps what it was given, at both moments.
class RecordingSink final : public events::EventSink {
public:
    void stage(const events::Event& event, Transaction&, std::optional<Transaction::Ref>) override {
        staged.push_back(event);
    }
    void publish(const events::Event& event) override { published.push_back(event); }

    template <typename T>
    const T& last() const {
        return std::get<T>(published.back());
    }

    std::vector<events::Event> staged, published;
};

class ServicesTest : public ::testing::Test {
protected:
    // Few iterations: the tests check the rules, not PBKDF2's cost.
    static constexpr int kIterations = 2;

    User add_user(const std::string& email, const std::string& password = "", std::string role = "user") {
        NewUser u{.email = email, .password = password.empty() ? "!unusable" : make_password(password, kIterations),
                  .role = std::move(role)};
        return run_task(store.create_user(u));
    }
    Meeting add_meeting(const User& owner, std::string title = "Stand-up") {
        Meeting m{.title = std::move(title), .scheduled_date = now_utc() + hours(1), .user_id = owner.id};
        return run_task(store.create_meeting(m));
    }
    Refusal::Kind refused(const auto& outcome) {
        EXPECT_FALSE(outcome.ok());
        return outcome.ok() ? Refusal::Kind::invalid : outcome.refusal().kind;
    }

    testing::MemoryStore store;
    RecordingSink events;
    boost::asio::thread_pool pool{1};
    services::PasswordHasher passwords{pool, kIterations};
    LoginThrottle throttle{3, 100, seconds(60)};
    CredentialCache credentials;
    LoopCounters counters;
    services::Services svc{services::Deps{store, events, passwords, throttle, credentials, counters}};
};

// ---- meetings

TEST_F(ServicesTest, ANewMeetingBelongsToItsCreatorAndIsAnnounced) {
    User owner = add_user("owner@example.com");
    MeetingChanges input{.title = "Planning", .scheduled_date = now_utc() + hours(2)};
    auto made = run_task(svc.meetings.create(owner, input));
    ASSERT_TRUE(made);
    EXPECT_EQ(made->user_id, owner.id);
    EXPECT_EQ(made->room_id.size(), 36u);
    ASSERT_EQ(events.staged.size(), 1u) << "staged before the commit, for a durable record";
    EXPECT_EQ(std::get<events::MeetingCreated>(events.staged[0]).meeting.room_id, made->room_id);
    EXPECT_EQ(events.last<events::MeetingCreated>().meeting.id, made->id);
}

TEST_F(ServicesTest, AMeetingWithoutItsRequiredFieldsIsRefusedAndNothingIsWritten) {
    User owner = add_user("owner@example.com");
    int before = store.commits;
    auto made = run_task(svc.meetings.create(owner, MeetingChanges{.title = "no date"}));
    EXPECT_EQ(refused(made), Refusal::Kind::invalid);
    EXPECT_EQ(made.refusal().fields.messages("scheduled_date").at(0), "This field is required.");
    EXPECT_EQ(store.commits, before);
    EXPECT_TRUE(events.published.empty());
}

TEST_F(ServicesTest, OnlyTheOwnerOrAnAdminChangesAMeeting) {
    User owner = add_user("owner@example.com"), other = add_user("other@example.com");
    User admin = add_user("admin@example.com", "", "admin");
    Meeting m = add_meeting(owner);
    int before = store.commits;
    EXPECT_EQ(refused(run_task(svc.meetings.update(other, m, MeetingChanges{.title = "mine now"}))),
              Refusal::Kind::forbidden);
    EXPECT_EQ(refused(run_task(svc.meetings.remove(other, m))), Refusal::Kind::forbidden);
    EXPECT_EQ(refused(run_task(svc.meetings.set_status(other, m, "ended"))), Refusal::Kind::forbidden);
    EXPECT_EQ(store.commits, before) << "a refusal writes nothing";
    EXPECT_TRUE(events.published.empty()) << "and tells nobody";

    auto renamed = run_task(svc.meetings.update(admin, m, MeetingChanges{.title = "Renamed"}));
    ASSERT_TRUE(renamed);
    const auto& updated = events.last<events::MeetingUpdated>();
    EXPECT_EQ(updated.before.title, "Stand-up");
    EXPECT_EQ(updated.after.title, "Renamed");
    EXPECT_EQ(updated.by, admin.id);
    EXPECT_FALSE(updated.status_set);
}

TEST_F(ServicesTest, EndingAMeetingSaysSoEvenWhenItHadEnded) {
    User owner = add_user("owner@example.com");
    Meeting m = add_meeting(owner);
    ASSERT_TRUE(run_task(svc.meetings.set_status(owner, m, "ended")));
    EXPECT_TRUE(events.last<events::MeetingUpdated>().status_changed());
    Meeting ended = *run_task(store.find_meeting(m.id));
    ASSERT_TRUE(run_task(svc.meetings.set_status(owner, ended, "ended")));
    EXPECT_TRUE(events.last<events::MeetingUpdated>().status_set);
    EXPECT_FALSE(events.last<events::MeetingUpdated>().status_changed());
    EXPECT_EQ(refused(run_task(svc.meetings.set_status(owner, ended, "paused"))), Refusal::Kind::invalid);
}

TEST_F(ServicesTest, DeletingAMeetingTakesItsContentAndIsAnnounced) {
    User owner = add_user("owner@example.com");
    Meeting m = add_meeting(owner);
    run_task(store.create_message(m.id, owner.id, "hello"));
    ASSERT_TRUE(run_task(svc.meetings.remove(owner, m)));
    EXPECT_FALSE(run_task(store.find_meeting(m.id)));
    EXPECT_EQ(run_task(store.owner_totals(owner.id)).messages, 0);
    EXPECT_EQ(events.last<events::MeetingDeleted>().meeting.id, m.id);
}

TEST_F(ServicesTest, ListingsShowYourOwnMeetingsAndAnAdminEveryone) {
    User owner = add_user("owner@example.com"), other = add_user("other@example.com");
    User admin = add_user("admin@example.com", "", "admin");
    add_meeting(owner);
    add_meeting(other);
    EXPECT_EQ(run_task(svc.meetings.list(owner, {})).rows.size(), 1u);
    EXPECT_EQ(run_task(svc.meetings.list(admin, {})).rows.size(), 2u);
    EXPECT_EQ(run_task(svc.meetings.list(Actor::system(), {})).rows.size(), 2u);
}

TEST_F(ServicesTest, AFailedCommitTellsNobody) {
    User owner = add_user("owner@example.com");
    Meeting m = add_meeting(owner);
    store.fail_next_commit = true;
    EXPECT_THROW(run_task(svc.meetings.set_status(owner, m, "ended")), StoreUnavailable);
    EXPECT_TRUE(events.published.empty());
    EXPECT_EQ(run_task(store.find_meeting(m.id))->status, "active");
}

// ---- chat, participants

TEST_F(ServicesTest, OverRestOnlyTheOwnerPostsInTheRoomEveryoneMay) {
    User owner = add_user("owner@example.com"), guest = add_user("guest@example.com");
    Meeting m = add_meeting(owner);
    EXPECT_EQ(refused(run_task(svc.chats.post(guest, m, {"hi"}, ChatChannel::rest))), Refusal::Kind::forbidden);
    auto said = run_task(svc.chats.post(guest, m, {"one", "two", "three"}, ChatChannel::room));
    ASSERT_TRUE(said);
    ASSERT_EQ(said->size(), 3u);
    EXPECT_EQ(store.last_commit.size(), 1u) << "a burst of chat is one write";
    const auto& posted = events.last<events::ChatsPosted>();
    ASSERT_EQ(posted.messages.size(), 3u);
    EXPECT_EQ(posted.messages[2].content, "three");
    EXPECT_EQ(posted.messages[0].user_email, "guest@example.com");
    EXPECT_EQ(counters.chats_stored.value(), 3u);
}

TEST_F(ServicesTest, ABlankChatIsRefusedWithDrfsMessage) {
    User owner = add_user("owner@example.com");
    Meeting m = add_meeting(owner);
    auto said = run_task(svc.chats.post(owner, m, {"fine", "  \n"}, ChatChannel::room));
    EXPECT_EQ(refused(said), Refusal::Kind::invalid);
    EXPECT_EQ(said.refusal().fields.messages("content").at(0), "This field may not be blank.");
    EXPECT_TRUE(run_task(store.list_messages(m.id, std::nullopt, 0)).rows.empty()) << "none of the burst is kept";
}

TEST_F(ServicesTest, ReadingChatAndRecordingsIsTheOwnersOrAnAdmins) {
    User owner = add_user("owner@example.com"), guest = add_user("guest@example.com");
    User admin = add_user("admin@example.com", "", "admin");
    Meeting m = add_meeting(owner);
    EXPECT_EQ(refused(run_task(svc.chats.list(guest, m, std::nullopt, 0))), Refusal::Kind::forbidden);
    EXPECT_TRUE(run_task(svc.chats.list(admin, m, std::nullopt, 0)));
    EXPECT_EQ(refused(run_task(svc.recordings.create(guest, m, "https://example.com/r.mp4"))),
              Refusal::Kind::forbidden);
    auto made = run_task(svc.recordings.create(owner, m, "https://example.com/r.mp4"));
    ASSERT_TRUE(made);
    EXPECT_EQ(events.last<events::RecordingCreated>().recording.id, made->id);
}

TEST_F(ServicesTest, SeveralFlagsChangeInOneWriteAndEveryoneIsTold) {
    User owner = add_user("owner@example.com"), guest = add_user("guest@example.com");
    Meeting m = add_meeting(owner);
    auto state = run_task(svc.participants.change_own(
        guest, m, {{ParticipantFlag::audio_muted, true}, {ParticipantFlag::raised_hand, true}}));
    ASSERT_TRUE(state);
    EXPECT_TRUE(state->audio_muted);
    EXPECT_TRUE(state->raised_hand);
    EXPECT_EQ(store.last_commit.size(), 1u);
    const auto& changed = events.last<events::ParticipantStateChanged>();
    EXPECT_EQ(changed.state.user_id, guest.id);
    EXPECT_EQ(changed.by, guest.id);
    EXPECT_EQ(refused(run_task(svc.participants.change_own(Actor::system(), m, {}))), Refusal::Kind::forbidden);
}

// ---- accounts

TEST_F(ServicesTest, APasswordSignInIsCheckedAndThrottled) {
    add_user("user@example.com", "right-password");
    auto good = run_task(svc.accounts.sign_in_with_password("user@example.com", "right-password", "10.0.0.1"));
    ASSERT_TRUE(good);
    EXPECT_EQ(good->email, "user@example.com");
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(refused(run_task(svc.accounts.sign_in_with_password("user@example.com", "wrong", "10.0.0.1"))),
                  Refusal::Kind::bad_credentials);
    auto throttled = run_task(svc.accounts.sign_in_with_password("user@example.com", "right-password", "10.0.0.1"));
    EXPECT_EQ(refused(throttled), Refusal::Kind::throttled);
    EXPECT_GT(throttled.refusal().retry_after, 0);
    EXPECT_EQ(counters.login_throttled.value(), 1u);
    EXPECT_EQ(refused(run_task(svc.accounts.sign_in_with_password("nobody@example.com", "x", "10.0.0.2"))),
              Refusal::Kind::bad_credentials);
}

TEST_F(ServicesTest, ADeactivatedAccountDoesNotSignIn) {
    User u = add_user("user@example.com", "right-password");
    u.is_active = false;
    run_task(store.update_user(u));
    EXPECT_EQ(refused(run_task(svc.accounts.sign_in_with_password("user@example.com", "right-password", "10.0.0.1"))),
              Refusal::Kind::inactive);
}

TEST_F(ServicesTest, ANewPasswordEndsEverySessionInTheSameCommit) {
    User u = add_user("user@example.com", "old-password");
    std::string key = run_task(svc.accounts.open_session(u, "", hours(1)));
    EXPECT_TRUE(run_task(store.find_session(services::session_key_hash(key))));
    ASSERT_TRUE(run_task(svc.accounts.change_password(Actor::system(), u, "new-password")));
    ASSERT_EQ(store.last_commit.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<write::SetPassword>(store.last_commit[0]));
    EXPECT_TRUE(std::holds_alternative<write::DeleteUserSessions>(store.last_commit[1]));
    EXPECT_FALSE(run_task(store.find_session(services::session_key_hash(key))));
    EXPECT_TRUE(run_task(svc.accounts.sign_in_with_password("user@example.com", "new-password", "10.0.0.1")));
}

TEST_F(ServicesTest, OnlyTheConsoleAndCasteraItselfManageUsers) {
    User admin = add_user("admin@example.com", "", "admin");
    services::NewAccount account{.email = "new@example.com", .password = "a-password"};
    EXPECT_EQ(refused(run_task(svc.accounts.create_user(admin, account))), Refusal::Kind::forbidden)
        << "the API's admin role is about meetings, not accounts";
    auto made = run_task(svc.accounts.create_user(Actor::system(), account));
    ASSERT_TRUE(made);
    EXPECT_TRUE(made->password.starts_with("pbkdf2_sha256$"));
    EXPECT_EQ(refused(run_task(svc.accounts.create_user(Actor::system(), account))), Refusal::Kind::conflict);
    User staff = add_user("staff@example.com");
    staff.is_staff = true;
    EXPECT_EQ(refused(run_task(svc.accounts.delete_user(admin, *made))), Refusal::Kind::forbidden);
    EXPECT_TRUE(run_task(svc.accounts.delete_user(Actor::console(staff), *made)));
    EXPECT_FALSE(run_task(store.find_user(made->id)));
}

TEST_F(ServicesTest, DeletingAUserAnnouncesEachOfTheirMeetingsAsDeletedInTheSameCommit) {
    User owner = add_user("owner@example.com"), other = add_user("other@example.com");
    User staff = add_user("staff@example.com");
    staff.is_staff = true;
    Meeting first = add_meeting(owner, "First"), second = add_meeting(owner, "Second");
    Meeting theirs = add_meeting(other, "Not theirs");
    User admin = add_user("admin@example.com", "", "admin");
    EXPECT_EQ(refused(run_task(svc.accounts.delete_user(admin, owner))), Refusal::Kind::forbidden);
    EXPECT_TRUE(events.staged.empty() && events.published.empty()) << "a refusal tells nobody";

    int before = store.commits;
    ASSERT_TRUE(run_task(svc.accounts.delete_user(Actor::console(staff), owner)));
    EXPECT_EQ(store.commits, before + 1) << "the events are staged into the deletion's own commit";
    EXPECT_TRUE(std::holds_alternative<write::DeleteUser>(store.last_commit.back()));
    for (const auto* moment : {&events.staged, &events.published}) {
        ASSERT_EQ(moment->size(), 2u);
        const auto& a = std::get<events::MeetingDeleted>((*moment)[0]);
        const auto& b = std::get<events::MeetingDeleted>((*moment)[1]);
        EXPECT_EQ(a.meeting.id, first.id);
        EXPECT_EQ(a.meeting.title, "First") << "the meeting as it was";
        EXPECT_EQ(b.meeting.id, second.id);
        EXPECT_EQ(a.by, staff.id);
    }
    EXPECT_FALSE(run_task(store.find_meeting(first.id)));
    EXPECT_TRUE(run_task(store.find_meeting(theirs.id)));
}

TEST_F(ServicesTest, TokensAreShownOnceAndPrivateToTheirOwner) {
    User owner = add_user("owner@example.com"), other = add_user("other@example.com");
    auto made = run_task(svc.accounts.create_token(owner, false, "ci", std::nullopt));
    ASSERT_TRUE(made);
    EXPECT_NE(made->token.key_hash, made->key) << "only the key's hash is kept";
    EXPECT_EQ(made->token.key_hash, services::api_token_hash(made->key));
    EXPECT_EQ(refused(run_task(svc.accounts.create_token(owner, true, "more", std::nullopt))),
              Refusal::Kind::forbidden)
        << "a token may not mint tokens";
    EXPECT_EQ(refused(run_task(svc.accounts.delete_token(other, made->token.id))), Refusal::Kind::not_found);
    EXPECT_TRUE(run_task(svc.accounts.delete_token(owner, made->token.id)));
    EXPECT_TRUE(run_task(svc.accounts.list_tokens(owner)).empty());
}

// ---- the admin console

// A change made in the console writes Django's admin log row in the change's own commit, with
// Django's change message; the same change over the API writes none.
TEST_F(ServicesTest, ConsoleChangesAreLoggedInTheirOwnCommit) {
    User staff = add_user("staff@example.com");
    staff.is_staff = true;
    User owner = add_user("owner@example.com");
    Meeting m = add_meeting(owner);
    Actor console = Actor::console(staff);

    MeetingChanges changes{.title = "Renamed", .status = "ended"};
    ASSERT_TRUE(run_task(svc.console.update_meeting(console, m, changes)));
    ASSERT_EQ(store.last_commit.size(), 2u);
    const auto& log = std::get<write::LogAdminAction>(store.last_commit[0]);
    EXPECT_EQ(log.model, AdminModel::meeting);
    EXPECT_EQ(log.entry.action_flag, AdminLogEntry::change);
    EXPECT_EQ(log.entry.object_id, std::to_string(m.id));
    EXPECT_EQ(log.entry.object_repr, "Renamed");
    EXPECT_EQ(log.entry.change_message, "[{\"changed\": {\"fields\": [\"Title\", \"Status\"]}}]");
    EXPECT_TRUE(events.last<events::MeetingUpdated>().status_changed());  // the room hears it too

    ASSERT_TRUE(run_task(svc.meetings.update(owner, m, MeetingChanges{.title = "By the owner"})));
    EXPECT_EQ(store.last_commit.size(), 1u);

    // An owner chosen in the console; over the API the creator owns what they create.
    MeetingChanges input{.title = "For someone", .scheduled_date = now_utc(), .user_id = owner.id};
    auto made = run_task(svc.console.create_meeting(console, input));
    ASSERT_TRUE(made);
    EXPECT_EQ(made->user_id, owner.id);
    auto unknown_owner = run_task(svc.console.create_meeting(console, MeetingChanges{.title = "x", .scheduled_date = now_utc(), .user_id = 987654}));
    EXPECT_EQ(refused(unknown_owner), Refusal::Kind::invalid);
    auto api = run_task(svc.meetings.create(owner, MeetingChanges{.title = "Mine", .scheduled_date = now_utc(), .user_id = staff.id}));
    ASSERT_TRUE(api);
    EXPECT_EQ(api->user_id, owner.id);

    auto history = run_task(svc.console.history(console, AdminModel::meeting, made->id));
    ASSERT_TRUE(history);
    ASSERT_EQ(history->size(), 1u);
    EXPECT_EQ((*history)[0].change_message, "[{\"added\": {}}]");
    EXPECT_EQ((*history)[0].object_id, std::to_string(made->id));
}

TEST_F(ServicesTest, OnlyStaffInTheConsoleUseIt) {
    User staff = add_user("staff@example.com");
    staff.is_staff = true;
    User user = add_user("user@example.com");
    EXPECT_EQ(refused(run_task(svc.console.list(user, AdminModel::meeting, ConsoleQuery{}))), Refusal::Kind::forbidden);
    EXPECT_EQ(refused(run_task(svc.console.list(Actor::console(user), AdminModel::meeting, ConsoleQuery{}))),
              Refusal::Kind::forbidden);
    EXPECT_EQ(refused(run_task(svc.console.remove(staff, AdminModel::user, user.id))), Refusal::Kind::forbidden);
    ConsoleQuery bad;
    bad.filters = {{"is_staff", "perhaps"}};
    EXPECT_EQ(refused(run_task(svc.console.list(Actor::console(staff), AdminModel::user, bad))), Refusal::Kind::invalid);
    EXPECT_TRUE(run_task(svc.console.remove(Actor::console(staff), AdminModel::user, user.id)));
    EXPECT_FALSE(run_task(store.find_user(user.id)));
}

TEST_F(ServicesTest, ConsoleParticipantStatesAreUniqueAndTheRoomHearsThem) {
    User staff = add_user("staff@example.com");
    staff.is_staff = true;
    User user = add_user("user@example.com");
    Meeting m = add_meeting(user);
    Actor console = Actor::console(staff);
    services::StateFields fields{.meeting = m.id, .user = user.id, .raised_hand = true};
    auto id = run_task(svc.console.create_state(console, fields));
    ASSERT_TRUE(id);
    EXPECT_TRUE(events.last<events::ParticipantStateChanged>().state.raised_hand);
    auto again = run_task(svc.console.create_state(console, fields));
    ASSERT_EQ(refused(again), Refusal::Kind::invalid);
    EXPECT_EQ(again.refusal().fields.messages("__all__").at(0),
              "Participant state with this Meeting and User already exists.");
}

}  // namespace
}  // namespace castera
