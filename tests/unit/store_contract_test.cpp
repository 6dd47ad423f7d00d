// The contract both stores keep, written once and run on each: SQLite on a throwaway file, and
// PostgreSQL when CASTERA_TEST_PG_URL names a database the tests may write to (scripts/test
// starts one; each test works in a schema of its own). It runs on the tests' in-memory store
// as well, so that what the services' tests see of it holds on both. What only one store has is in
// sqlite_store_test.cpp and postgres_store_test.cpp.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "memory_store.hpp"
#include "pg_admin.hpp"
#include "run_task.hpp"
#include "store_rows.hpp"
#include "util/time.hpp"

namespace castera {
namespace {

using testing::run_task;
using namespace std::chrono;

// A database for one test, and the URL of it; removed when the test ends.
class Scratch {
public:
    virtual ~Scratch() = default;
    virtual std::string url() const = 0;
};

class SqliteScratch : public Scratch {
public:
    SqliteScratch()
        : dir_(std::filesystem::temp_directory_path() / ("castera-contract-" + std::to_string(std::random_device{}()))) {
        std::filesystem::create_directories(dir_);
    }
    ~SqliteScratch() override { std::filesystem::remove_all(dir_); }
    std::string url() const override { return "sqlite:" + (dir_ / "test.db").string(); }

private:
    std::filesystem::path dir_;
};

class PostgresScratch : public Scratch {
public:
    explicit PostgresScratch(const std::string& base)
        : schema_("castera_contract_" + std::to_string(std::random_device{}())), admin_(base) {
        admin_.exec("CREATE SCHEMA " + schema_);
        url_ = base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-c%20search_path%3D" + schema_;
    }
    ~PostgresScratch() override { admin_.exec("DROP SCHEMA " + schema_ + " CASCADE"); }
    std::string url() const override { return url_; }

private:
    std::string schema_, url_;
    testing::Admin admin_;
};

class StoreContract : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        if (GetParam() == "memory") {
            store_ = std::make_unique<testing::MemoryStore>();
            return;
        }
        if (GetParam() == "postgresql") {
            const char* url = std::getenv("CASTERA_TEST_PG_URL");
            if (!url || !*url) GTEST_SKIP() << "set CASTERA_TEST_PG_URL to run the contract on PostgreSQL";
            scratch_ = std::make_unique<PostgresScratch>(url);
        } else {
            scratch_ = std::make_unique<SqliteScratch>();
        }
        factory_ = make_store_factory(scratch_->url());
        factory_->migrate();
        store_ = factory_->make_store();
    }
    void TearDown() override {
        store_.reset();
        factory_.reset();
        scratch_.reset();
    }

    User user(const std::string& email) { return testing::add_user(*store_, email); }
    Meeting meeting(Id owner, const std::string& title, TimePoint when = now_utc()) {
        return testing::add_meeting(*store_, owner, title, when);
    }

    std::unique_ptr<Scratch> scratch_;
    std::unique_ptr<StoreFactory> factory_;
    std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Stores, StoreContract, ::testing::Values("sqlite", "postgresql", "memory"),
                         [](const auto& info) { return info.param; });

// ---- transactions

// The writes of one transaction are committed together, and each one's result comes back.
TEST_P(StoreContract, ATransactionCommitsEveryWriteAndGivesEachResult) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "together");
    Transaction tx;
    auto chat = tx.add(write::CreateMessages{m.id, a.id, {"one", "two"}});
    auto flags = tx.add(write::SetParticipantFlags{m.id, a.id, {{ParticipantFlag::audio_muted, true},
                                                                 {ParticipantFlag::raised_hand, true}}});
    auto recording = tx.add(write::CreateRecording{m.id, a.id, "https://example.com/r.mp4"});
    auto retitle = tx.add(write::UpdateMeeting{m.id, MeetingChanges{.title = "renamed"}});
    Committed done = run_task(store_->commit(std::move(tx)));
    ASSERT_EQ(done.size(), 4u);
    EXPECT_EQ(done.get<std::vector<Message>>(chat).size(), 2u);
    EXPECT_TRUE(done.get<ParticipantState>(flags).audio_muted);
    EXPECT_TRUE(done.get<ParticipantState>(flags).raised_hand);
    EXPECT_EQ(done.get<Recording>(recording).file_url, "https://example.com/r.mp4");
    EXPECT_EQ(done.get<std::optional<Meeting>>(retitle)->title, "renamed");
    EXPECT_EQ(run_task(store_->list_messages(m.id, std::nullopt, 0)).rows.size(), 2u);
    EXPECT_EQ(run_task(store_->find_meeting(m.id))->title, "renamed");
}

// A write that fails takes the whole transaction with it: nothing before it stays.
TEST_P(StoreContract, ATransactionWithAFailingWriteLeavesNothing) {
    User a = user("a@example.com");
    user("taken@example.com");
    Meeting m = meeting(a.id, "untouched");
    Transaction tx;
    tx.add(write::CreateMessages{m.id, a.id, {"lost"}});
    tx.add(write::UpdateMeeting{m.id, MeetingChanges{.title = "changed"}});
    tx.add(write::CreateUser{NewUser{.email = "taken@example.com", .password = "!x"}});
    EXPECT_THROW(run_task(store_->commit(std::move(tx))), StoreConflict);
    EXPECT_TRUE(run_task(store_->list_messages(m.id, std::nullopt, 0)).rows.empty());
    EXPECT_EQ(run_task(store_->find_meeting(m.id))->title, "untouched");
    // The store is fine for the next commit.
    EXPECT_EQ(run_task(store_->create_message(m.id, a.id, "kept")).content, "kept");
}

// A new password and the end of every session, as the services change a password.
TEST_P(StoreContract, APasswordAndTheEndOfSessionsGoTogether) {
    User a = user("a@example.com");
    run_task(store_->create_session(Session{std::string(64, 'a'), a.id, now_utc() + hours(1)}));
    Transaction tx;
    tx.add(write::SetPassword{a.id, "pbkdf2_sha256$1$salt$hash"});
    tx.add(write::DeleteUserSessions{a.id});
    run_task(store_->commit(std::move(tx)));
    EXPECT_EQ(run_task(store_->find_user(a.id))->password, "pbkdf2_sha256$1$salt$hash");
    EXPECT_FALSE(run_task(store_->find_session(std::string(64, 'a'))));
}

TEST_P(StoreContract, AnEmptyTransactionCommitsNothing) {
    Committed done = run_task(store_->commit(Transaction{}));
    EXPECT_EQ(done.size(), 0u);
}

// ---- rows, lookups and cascades

TEST_P(StoreContract, MigrateIsIdempotent) {
    if (!factory_) GTEST_SKIP() << "nothing to migrate";
    EXPECT_NO_THROW(factory_->migrate());
    EXPECT_NO_THROW(factory_->migrate());
}

TEST_P(StoreContract, UsersAreUniqueByEmail) {
    User a = user("a@example.com");
    EXPECT_GT(a.id, 0);
    NewUser again;
    again.email = "a@example.com";
    again.password = "x";
    EXPECT_THROW(run_task(store_->create_user(again)), StoreConflict);
    auto found = run_task(store_->find_user_by_email("a@example.com"));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, a.id);
    EXPECT_EQ(found->role, "user");
    EXPECT_TRUE(found->is_active);
}

TEST_P(StoreContract, MeetingsGetARoomUuidAndReadBack) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "Stand-up");
    EXPECT_EQ(m.room_id.size(), 36u);
    auto by_room = run_task(store_->find_meeting_by_room(m.room_id));
    ASSERT_TRUE(by_room);
    EXPECT_EQ(by_room->id, m.id);
    EXPECT_EQ(by_room->room_id, m.room_id);
    EXPECT_EQ(by_room->created_on, m.created_on);
    EXPECT_EQ(by_room->description, std::nullopt);
}

TEST_P(StoreContract, PartialUpdatesTouchOnlyGivenFields) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "Old");
    MeetingChanges describe;
    describe.description = std::optional<std::string>("notes");
    run_task(store_->update_meeting(m.id, describe));
    MeetingChanges retitle;
    retitle.title = "New";
    auto updated = run_task(store_->update_meeting(m.id, retitle));
    ASSERT_TRUE(updated);
    EXPECT_EQ(updated->title, "New");
    EXPECT_EQ(updated->description, "notes");
    MeetingChanges clear;
    clear.description = std::optional<std::string>();
    updated = run_task(store_->update_meeting(m.id, clear));
    EXPECT_EQ(updated->description, std::nullopt);
    EXPECT_FALSE(run_task(store_->update_meeting(m.id + 100, retitle)));
}

TEST_P(StoreContract, ListingsFilterOrderAndPage) {
    User a = user("a@example.com"), b = user("b@example.com");
    TimePoint now = now_utc();
    Meeting past = meeting(a.id, "past", now - hours(1));
    Meeting soon = meeting(a.id, "soon", now + hours(1));
    Meeting later = meeting(a.id, "later", now + hours(2));
    meeting(b.id, "other");

    MeetingQuery mine{.owner = a.id};
    auto all_mine = run_task(store_->list_meetings(mine));
    ASSERT_EQ(all_mine.rows.size(), 3u);
    EXPECT_EQ(all_mine.rows.front().id, later.id) << "newest created first";

    MeetingQuery upcoming{.owner = a.id, .scheduled_after = now, .order = MeetingQuery::Order::soonest_scheduled_first};
    auto up = run_task(store_->list_meetings(upcoming));
    ASSERT_EQ(up.rows.size(), 2u);
    EXPECT_EQ(up.rows[0].id, soon.id);
    EXPECT_EQ(up.rows[1].id, later.id);

    MeetingQuery previous{.owner = a.id, .scheduled_until = now, .order = MeetingQuery::Order::latest_scheduled_first};
    auto prev = run_task(store_->list_meetings(previous));
    ASSERT_EQ(prev.rows.size(), 1u);
    EXPECT_EQ(prev.rows[0].id, past.id);

    MeetingQuery page{.order = MeetingQuery::Order::id_ascending, .limit = 2, .offset = 1};
    auto second = run_task(store_->list_meetings(page));
    EXPECT_EQ(second.total, 4);
    ASSERT_EQ(second.rows.size(), 2u);
    EXPECT_EQ(second.rows[0].id, soon.id);
}

TEST_P(StoreContract, MessagesAreOldestFirstWithTheAuthorsEmail) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "chat");
    run_task(store_->create_message(m.id, a.id, "one"));
    run_task(store_->create_message(m.id, a.id, "two"));
    auto messages = run_task(store_->list_messages(m.id, std::nullopt, 0));
    ASSERT_EQ(messages.rows.size(), 2u);
    EXPECT_EQ(messages.rows[0].content, "one");
    EXPECT_EQ(messages.rows[1].content, "two");
    EXPECT_EQ(messages.rows[0].user_email, "a@example.com");
}

TEST_P(StoreContract, ParticipantStateIsCreatedOnceAndUpdated) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "call");
    ParticipantState first = run_task(store_->set_participant_flag(m.id, a.id, ParticipantFlag::audio_muted, true));
    EXPECT_TRUE(first.audio_muted);
    EXPECT_TRUE(first.in_call);
    ParticipantState second = run_task(store_->set_participant_flag(m.id, a.id, ParticipantFlag::in_call, false));
    EXPECT_EQ(second.id, first.id);
    EXPECT_TRUE(second.audio_muted);
    EXPECT_FALSE(second.in_call);
    EXPECT_EQ(run_task(store_->list_participant_states(m.id)).size(), 1u);
}

TEST_P(StoreContract, DeletingAMeetingDeletesWhatHangsOffIt) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "doomed");
    run_task(store_->create_message(m.id, a.id, "hi"));
    run_task(store_->create_recording(m.id, a.id, "https://example.com/r.mp4"));
    run_task(store_->set_participant_flag(m.id, a.id, ParticipantFlag::raised_hand, true));
    run_task(store_->create_signal(m.id, a.id, "offer", R"({"sdp":"x"})"));
    EXPECT_TRUE(run_task(store_->delete_meeting(m.id)));
    EXPECT_TRUE(run_task(store_->list_messages(m.id, std::nullopt, 0)).rows.empty());
    EXPECT_TRUE(run_task(store_->list_recordings(m.id, std::nullopt, 0)).rows.empty());
    EXPECT_TRUE(run_task(store_->list_participant_states(m.id)).empty());
    OwnerTotals totals = run_task(store_->owner_totals(a.id));
    EXPECT_EQ(totals.meetings, 0);
    EXPECT_EQ(totals.messages, 0);
    EXPECT_EQ(totals.recordings, 0);
}

// ---- meeting rooms' controls

TEST_P(StoreContract, RoomControlsAreDefaultsUntilSetAndReadWithTheMeeting) {
    User a = user("a@example.com");
    User b = user("b@example.com");
    Meeting m = meeting(a.id, "room");
    RoomEntry entry = run_task(store_->find_room_entry(m.room_id, b.id));
    ASSERT_TRUE(entry.meeting);
    EXPECT_EQ(entry.meeting->id, m.id);
    EXPECT_FALSE(entry.locked || entry.lobby || entry.banned || entry.admitted);
    EXPECT_FALSE(run_task(store_->find_room_entry("not-a-uuid", b.id)).meeting);

    Transaction tx;
    auto set = tx.add(write::SetRoomSettings{m.id, true, std::nullopt});
    auto ban = tx.add(write::BanFromRoom{m.id, b.id, a.id});
    auto admit = tx.add(write::AdmitToRoom{m.id, b.id, a.id});
    Committed done = run_task(store_->commit(std::move(tx)));
    EXPECT_TRUE(done.get<RoomSettings>(set).locked);
    EXPECT_FALSE(done.get<RoomSettings>(set).lobby);
    EXPECT_TRUE(done.get<bool>(ban));
    EXPECT_TRUE(done.get<bool>(admit));

    Transaction again;
    auto lobby = again.add(write::SetRoomSettings{m.id, std::nullopt, true});
    auto ban_twice = again.add(write::BanFromRoom{m.id, b.id, a.id});
    done = run_task(store_->commit(std::move(again)));
    EXPECT_TRUE(done.get<RoomSettings>(lobby).locked) << "a flag not given is kept";
    EXPECT_TRUE(done.get<RoomSettings>(lobby).lobby);
    EXPECT_FALSE(done.get<bool>(ban_twice));

    entry = run_task(store_->find_room_entry(m.room_id, b.id));
    EXPECT_TRUE(entry.locked && entry.lobby && entry.banned && entry.admitted);
    EXPECT_FALSE(run_task(store_->find_room_entry(m.room_id, a.id)).banned);
    RoomSettings settings = run_task(store_->find_room_settings(m.id));
    EXPECT_EQ(settings.banned, std::vector<Id>{b.id});

    Transaction lift;
    auto unban = lift.add(write::UnbanFromRoom{m.id, b.id});
    auto unban_twice = lift.add(write::UnbanFromRoom{m.id, b.id});
    done = run_task(store_->commit(std::move(lift)));
    EXPECT_TRUE(done.get<bool>(unban));
    EXPECT_FALSE(done.get<bool>(unban_twice));
    EXPECT_TRUE(run_task(store_->find_room_settings(m.id)).banned.empty());

    // They go with their meeting.
    EXPECT_TRUE(run_task(store_->delete_meeting(m.id)));
    EXPECT_TRUE(run_task(store_->find_room_settings(m.id)).banned.empty());
    EXPECT_FALSE(run_task(store_->find_room_settings(m.id)).locked);
}

TEST_P(StoreContract, ARoomSnapshotHasTheStatesTheLastChatsOldestFirstAndTheControls) {
    User a = user("a@example.com");
    User b = user("b@example.com");
    Meeting m = meeting(a.id, "snapshot");
    Meeting other = meeting(a.id, "elsewhere");
    run_task(store_->create_messages(m.id, a.id, {"one", "two", "three"}));
    run_task(store_->create_message(m.id, b.id, "four"));
    run_task(store_->create_message(other.id, b.id, "not here"));
    run_task(store_->set_participant_flag(m.id, b.id, ParticipantFlag::raised_hand, true));
    run_task(store_->set_participant_flag(m.id, a.id, ParticipantFlag::audio_muted, true));
    RoomSnapshot s = run_task(store_->room_snapshot(m.id, 3));
    ASSERT_EQ(s.history.size(), 3u);
    EXPECT_EQ(s.history[0].content, "two");
    EXPECT_EQ(s.history[2].content, "four");
    EXPECT_EQ(s.history[2].user_email, "b@example.com");
    EXPECT_EQ(s.history[2].meeting_id, m.id);
    ASSERT_EQ(s.states.size(), 2u);
    EXPECT_EQ(s.states[0].user_id, b.id);
    EXPECT_TRUE(s.states[0].raised_hand);
    EXPECT_EQ(s.states[1].user_email, "a@example.com");
    EXPECT_FALSE(s.locked || s.lobby);
    run_task(store_->commit([&] {
        Transaction tx;
        tx.add(write::SetRoomSettings{m.id, false, true});
        return tx;
    }()));
    s = run_task(store_->room_snapshot(m.id, 0));
    EXPECT_TRUE(s.history.empty());
    EXPECT_TRUE(s.lobby);
    EXPECT_EQ(s.states.size(), 2u);
    EXPECT_EQ(run_task(store_->room_snapshot(m.id, 50)).history.size(), 4u);
}

TEST_P(StoreContract, DeletingAUserDeletesTheirMeetingsAndSessions) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "mine");
    run_task(store_->create_session(Session{"hash", a.id, now_utc() + hours(1)}));
    EXPECT_TRUE(run_task(store_->delete_user(a.id)));
    EXPECT_FALSE(run_task(store_->find_meeting(m.id)));
    EXPECT_FALSE(run_task(store_->find_session("hash")));
}

TEST_P(StoreContract, SeveralMessagesAreStoredInOrder) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "burst");
    auto stored = run_task(store_->create_messages(m.id, a.id, {"one", "two", "three"}));
    ASSERT_EQ(stored.size(), 3u);
    EXPECT_EQ(stored[0].content, "one");
    EXPECT_LT(stored[0].id, stored[1].id);
    EXPECT_LT(stored[1].id, stored[2].id);
    EXPECT_EQ(stored[2].user_email, "a@example.com");
    auto listed = run_task(store_->list_messages(m.id, std::nullopt, 0)).rows;
    ASSERT_EQ(listed.size(), 3u);
    EXPECT_EQ(listed[2].content, "three");
}

TEST_P(StoreContract, SessionUserAndMeetingComeTogether) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "ahead", now_utc() + hours(2));
    TimePoint expires = now_utc() + hours(1);
    run_task(store_->create_session(Session{"h1", a.id, expires}));
    auto both = run_task(store_->find_session_user_and_meeting("h1", m.id));
    ASSERT_TRUE(both.found);
    EXPECT_EQ(both.found->user.email, "a@example.com");
    EXPECT_EQ(both.found->session.expires, expires);
    ASSERT_TRUE(both.meeting);
    // Every column as find_meeting reads it.
    auto alone = run_task(store_->find_meeting(m.id));
    EXPECT_EQ(both.meeting->id, alone->id);
    EXPECT_EQ(both.meeting->title, alone->title);
    EXPECT_EQ(both.meeting->description, alone->description);
    EXPECT_EQ(both.meeting->type_of, alone->type_of);
    EXPECT_EQ(both.meeting->created_on, alone->created_on);
    EXPECT_EQ(both.meeting->room_id, alone->room_id);
    EXPECT_EQ(both.meeting->scheduled_date, alone->scheduled_date);
    EXPECT_EQ(both.meeting->status, alone->status);
    EXPECT_EQ(both.meeting->user_id, alone->user_id);
    auto no_meeting = run_task(store_->find_session_user_and_meeting("h1", m.id + 1000));
    EXPECT_TRUE(no_meeting.found);
    EXPECT_FALSE(no_meeting.meeting);
    auto no_session = run_task(store_->find_session_user_and_meeting("h2", m.id));
    EXPECT_FALSE(no_session.found);
}

TEST_P(StoreContract, SessionsAreFoundByHashAndEndPerUser) {
    User a = user("a@example.com");
    Session s1{"h1", a.id, now_utc() + hours(1)}, s2{"h2", a.id, now_utc() + hours(1)};
    run_task(store_->create_session(s1));
    run_task(store_->create_session(s2));
    auto found = run_task(store_->find_session("h1"));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->user_id, a.id);
    run_task(store_->delete_user_sessions(a.id));
    EXPECT_FALSE(run_task(store_->find_session("h1")));
    EXPECT_FALSE(run_task(store_->find_session("h2")));
}

TEST_P(StoreContract, TimesKeepTheirMicroseconds) {
    User a = user("a@example.com");
    TimePoint when = TimePoint{sys_days{2031y / 2 / 3}} + hours(4) + minutes(5) + seconds(6) + microseconds(7);
    Meeting m = meeting(a.id, "precise", when);
    auto found = run_task(store_->find_meeting(m.id));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->scheduled_date, when);
    EXPECT_EQ(found->created_on, m.created_on);
}

TEST_P(StoreContract, RoomLookupsAcceptOnlyUuids) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "room");
    EXPECT_FALSE(run_task(store_->find_meeting_by_room("not-a-uuid")));
    std::string upper = m.room_id;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto found = run_task(store_->find_meeting_by_room(upper));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->room_id, m.room_id);
}

TEST_P(StoreContract, DeletingAUserLeavesOtherPeoplesMeetings) {
    User a = user("a@example.com"), b = user("b@example.com");
    Meeting mine = meeting(a.id, "mine");
    Meeting theirs = meeting(b.id, "theirs");
    run_task(store_->create_message(mine.id, b.id, "b in a's meeting"));
    run_task(store_->create_message(theirs.id, a.id, "a in b's meeting"));
    run_task(store_->create_message(theirs.id, b.id, "b in b's meeting"));
    run_task(store_->set_participant_flag(theirs.id, a.id, ParticipantFlag::audio_muted, true));
    EXPECT_TRUE(run_task(store_->delete_user(a.id)));
    EXPECT_FALSE(run_task(store_->delete_user(a.id)));
    EXPECT_TRUE(run_task(store_->find_meeting(theirs.id)));
    auto left = run_task(store_->list_messages(theirs.id, std::nullopt, 0));
    ASSERT_EQ(left.rows.size(), 1u);
    EXPECT_EQ(left.rows[0].content, "b in b's meeting");
    EXPECT_TRUE(run_task(store_->list_participant_states(theirs.id)).empty());
}

TEST_P(StoreContract, ApiTokensAreFoundByHashAndDeletedByTheirOwner) {
    User a = user("a@example.com"), b = user("b@example.com");
    ApiToken t;
    t.user_id = a.id;
    t.name = "ci";
    t.key_hash = std::string(64, 'a');
    t.prefix = "cst_abcd";
    ApiToken made = run_task(store_->create_api_token(t));
    EXPECT_GT(made.id, 0);
    EXPECT_THROW(run_task(store_->create_api_token(t)), StoreConflict);
    auto found = run_task(store_->find_api_token(std::string(64, 'a')));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->created_at, made.created_at);
    EXPECT_EQ(found->expires_at, std::nullopt);
    run_task(store_->touch_api_token(made.id, made.created_at + seconds(1)));
    EXPECT_EQ(run_task(store_->list_api_tokens(a.id)).at(0).last_used_at, made.created_at + seconds(1));
    EXPECT_FALSE(run_task(store_->delete_api_token(b.id, made.id)));
    EXPECT_TRUE(run_task(store_->delete_api_token(a.id, made.id)));
}

TEST_P(StoreContract, SessionUserComesInOneLookup) {
    User u = user("session@example.com");
    TimePoint expires = now_utc() + hours(1);
    run_task(store_->create_session(Session{"ab" + std::string(62, 'c'), u.id, expires}));
    auto found = run_task(store_->find_session_user("ab" + std::string(62, 'c')));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->user.email, "session@example.com");
    EXPECT_EQ(found->session.user_id, u.id);
    EXPECT_EQ(found->session.expires, expires);
    EXPECT_FALSE(run_task(store_->find_session_user(std::string(64, 'f'))));
}


// ---- the admin console

std::vector<Id> ids_of(const ConsolePage& page) {
    std::vector<Id> ids;
    for (const ConsoleRow& row : page.rows) ids.push_back(std::visit([](const auto& r) { return r.id; }, row.record));
    return ids;
}

// Search words must each be found in a search field, case-insensitively, with LIKE's wildcards
// taken literally; filters are exact; the total counts every page.
TEST_P(StoreContract, ConsoleListingsSearchFilterOrderAndCount) {
    User ada = user("ada@example.com");
    User bob = user("bob@example.com");
    Meeting a = meeting(ada.id, "Weekly Sync");
    Meeting b = meeting(bob.id, "weekly 100%_review");
    Meeting c = meeting(bob.id, "Retro");
    run_task(store_->update_meeting(c.id, MeetingChanges{.status = "ended"}));

    ConsoleQuery q;
    q.search_words = {"WEEKLY"};
    ConsolePage page = run_task(store_->list_console(AdminModel::meeting, q));
    EXPECT_EQ(ids_of(page), (std::vector<Id>{b.id, a.id}));  // newest first
    EXPECT_EQ(page.total, 2);
    EXPECT_EQ(page.rows[0].related, "bob@example.com");  // the owner's email

    q.search_words = {"%_"};
    EXPECT_EQ(ids_of(run_task(store_->list_console(AdminModel::meeting, q))), (std::vector<Id>{b.id}));
    q.search_words = {"weekly", "ada@"};  // every word, each in any field
    EXPECT_EQ(ids_of(run_task(store_->list_console(AdminModel::meeting, q))), (std::vector<Id>{a.id}));
    q.search_words = {a.room_id.substr(0, 13)};  // a room id, dashes and all
    EXPECT_EQ(ids_of(run_task(store_->list_console(AdminModel::meeting, q))), (std::vector<Id>{a.id}));

    ConsoleQuery f;
    f.filters = {{"status", "ended"}};
    EXPECT_EQ(ids_of(run_task(store_->list_console(AdminModel::meeting, f))), (std::vector<Id>{c.id}));
    f.filters = {{"user", std::to_string(bob.id)}};
    f.order = {{"title", false}};
    EXPECT_EQ(ids_of(run_task(store_->list_console(AdminModel::meeting, f))), (std::vector<Id>{c.id, b.id}));
    f.filters = {{"no_such_field", "x"}};  // ignored
    f.order = {};
    f.limit = 2;
    f.offset = 2;
    page = run_task(store_->list_console(AdminModel::meeting, f));
    EXPECT_EQ(ids_of(page), (std::vector<Id>{a.id}));
    EXPECT_EQ(page.total, 3);

    ConsoleQuery users;
    EXPECT_EQ(ids_of(run_task(store_->list_console(AdminModel::user, users))), (std::vector<Id>{ada.id, bob.id}));
    users.filters = {{"is_staff", "1"}};
    EXPECT_TRUE(run_task(store_->list_console(AdminModel::user, users)).rows.empty());
    users.filters = {{"is_active", "True"}};
    EXPECT_EQ(run_task(store_->list_console(AdminModel::user, users)).total, 2);

    EXPECT_TRUE(console_filter_valid(AdminModel::meeting, "user", "12"));
    EXPECT_FALSE(console_filter_valid(AdminModel::meeting, "user", "twelve"));
    EXPECT_FALSE(console_filter_valid(AdminModel::user, "is_staff", "maybe"));
    EXPECT_FALSE(console_filter_valid(AdminModel::meeting, "room_id", "not-a-uuid"));
    EXPECT_FALSE(console_filter_valid(AdminModel::meeting, "password", "x"));
}

// Messages, signals, recordings and states list with their meeting's title and their
// author's email, and can be searched by either.
TEST_P(StoreContract, ConsoleListsContentWithItsMeeting) {
    User ada = user("ada@example.com");
    Meeting m = meeting(ada.id, "Planning");
    Message msg = run_task(store_->create_message(m.id, ada.id, "hello there"));
    Signal sig = run_task(store_->create_signal(m.id, ada.id, "offer", "{\"sdp\":\"x\"}"));
    Recording rec = run_task(store_->create_recording(m.id, ada.id, "https://example.com/r.webm"));
    ParticipantState st = run_task(store_->set_participant_flag(m.id, ada.id, ParticipantFlag::raised_hand, true));
    ConsoleQuery q;
    q.search_words = {"planning"};
    for (auto [model, id] : {std::pair{AdminModel::message, msg.id}, std::pair{AdminModel::signal, sig.id},
                             std::pair{AdminModel::recording, rec.id}, std::pair{AdminModel::participantstate, st.id}}) {
        ConsolePage page = run_task(store_->list_console(model, q));
        ASSERT_EQ(ids_of(page), (std::vector<Id>{id})) << static_cast<int>(model);
        EXPECT_EQ(page.rows[0].related, "Planning");
    }
    ConsoleQuery raised;
    raised.filters = {{"raised_hand", "1"}, {"meeting", std::to_string(m.id)}};
    ConsolePage states = run_task(store_->list_console(AdminModel::participantstate, raised));
    ASSERT_EQ(states.rows.size(), 1u);
    EXPECT_EQ(std::get<ParticipantState>(states.rows[0].record).user_email, "ada@example.com");
    ConsolePage signals = run_task(store_->list_console(AdminModel::signal, ConsoleQuery{}));
    ASSERT_EQ(signals.rows.size(), 1u);
    EXPECT_EQ(std::get<Signal>(signals.rows[0].record).signal_type, "offer");
}

// The admin console's writes of whole rows, and the row of Django's admin log that commits with
// them, naming the object a write of the same transaction created.
TEST_P(StoreContract, ConsoleWritesAndTheAdminLogCommitTogether) {
    User ada = user("ada@example.com");
    User bob = user("bob@example.com");
    Meeting m = meeting(ada.id, "Board");
    Meeting other = meeting(bob.id, "Other");

    Transaction tx;
    auto created = tx.add(write::CreateRecording{m.id, ada.id, "https://example.com/a.webm"});
    tx.add(write::LogAdminAction{AdminModel::recording,
                                 AdminLogEntry{.user_id = ada.id, .object_repr = "Recording object",
                                               .action_flag = AdminLogEntry::addition,
                                               .change_message = "[{\"added\": {}}]"},
                                 created.index, true});
    Committed done = run_task(store_->commit(std::move(tx)));
    Id rec = done.get<Recording>(created).id;

    Transaction change;
    auto updated = change.add(write::UpdateRecording{rec, other.id, bob.id, "https://example.com/b.webm"});
    change.add(write::LogAdminAction{AdminModel::recording,
                                     AdminLogEntry{.user_id = ada.id, .object_id = std::to_string(rec),
                                                   .object_repr = "Recording object (" + std::to_string(rec) + ")",
                                                   .action_flag = AdminLogEntry::change,
                                                   .change_message = "[{\"changed\": {\"fields\": [\"Meeting\"]}}]"}});
    EXPECT_TRUE(run_task(store_->commit(std::move(change))).get<bool>(updated));
    auto recordings = run_task(store_->list_recordings(other.id, std::nullopt, 0)).rows;
    ASSERT_EQ(recordings.size(), 1u);
    EXPECT_EQ(recordings[0].file_url, "https://example.com/b.webm");
    EXPECT_EQ(recordings[0].uploaded_by, bob.id);

    auto history = run_task(store_->list_admin_log(
        AdminLogQuery{.model = AdminModel::recording, .object_id = std::to_string(rec), .limit = 10}));
    ASSERT_EQ(history.size(), 2u);
    EXPECT_EQ(history[0].action_flag, AdminLogEntry::addition);
    EXPECT_EQ(history[0].object_id, std::to_string(rec));
    EXPECT_EQ(history[0].object_repr, "Recording object (" + std::to_string(rec) + ")");
    EXPECT_EQ(history[0].app_label, "meetings");
    EXPECT_EQ(history[0].model, "recording");
    EXPECT_EQ(history[0].user_email, "ada@example.com");
    EXPECT_EQ(history[1].change_message, "[{\"changed\": {\"fields\": [\"Meeting\"]}}]");
    auto recent = run_task(store_->list_admin_log(AdminLogQuery{.user = ada.id, .limit = 1}));
    ASSERT_EQ(recent.size(), 1u);
    EXPECT_EQ(recent[0].action_flag, AdminLogEntry::change);  // newest first
    EXPECT_TRUE(run_task(store_->list_admin_log(AdminLogQuery{.user = bob.id})).empty());

    // A failing write takes the log row with it.
    Transaction failing;
    failing.add(write::LogAdminAction{AdminModel::user, AdminLogEntry{.user_id = ada.id, .object_id = "1",
                                                                      .object_repr = "x", .change_message = "[]"}});
    failing.add(write::CreateUser{NewUser{.email = "bob@example.com", .password = "!"}});
    EXPECT_THROW(run_task(store_->commit(std::move(failing))), StoreConflict);
    EXPECT_EQ(run_task(store_->list_admin_log(AdminLogQuery{.user = ada.id})).size(), 2u);
}

TEST_P(StoreContract, ConsoleRewritesAndDeletesContentRows) {
    User ada = user("ada@example.com");
    User bob = user("bob@example.com");
    Meeting m = meeting(ada.id, "Board");
    Message msg = run_task(store_->create_message(m.id, ada.id, "first"));
    Signal sig = run_task(store_->create_signal(m.id, ada.id, "offer", "{}"));

    Transaction tx;
    auto message = tx.add(write::UpdateMessage{msg.id, m.id, bob.id, "rewritten"});
    auto signal = tx.add(write::UpdateSignal{sig.id, m.id, bob.id, "ice", "{\"candidate\":\"c\"}"});
    auto missing = tx.add(write::UpdateMessage{987654, m.id, bob.id, "nobody"});
    auto owner = tx.add(write::UpdateMeeting{m.id, MeetingChanges{.user_id = bob.id}});
    Committed done = run_task(store_->commit(std::move(tx)));
    EXPECT_TRUE(done.get<bool>(message));
    EXPECT_TRUE(done.get<bool>(signal));
    EXPECT_FALSE(done.get<bool>(missing));
    EXPECT_EQ(done.get<std::optional<Meeting>>(owner)->user_id, bob.id);
    auto messages = run_task(store_->list_messages(m.id, std::nullopt, 0)).rows;
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0].content, "rewritten");
    EXPECT_EQ(messages[0].user_email, "bob@example.com");

    ParticipantState fresh{.meeting_id = m.id, .user_id = bob.id, .audio_muted = true, .in_call = false};
    Transaction create;
    auto state_ref = create.add(write::CreateParticipantState{fresh});
    ParticipantState state = run_task(store_->commit(std::move(create))).take<ParticipantState>(state_ref);
    EXPECT_TRUE(state.audio_muted);
    EXPECT_FALSE(state.in_call);
    EXPECT_EQ(state.user_email, "bob@example.com");
    Transaction twice;
    twice.add(write::CreateParticipantState{fresh});
    EXPECT_THROW(run_task(store_->commit(std::move(twice))), StoreConflict);

    state.audio_muted = false;
    state.screen_sharing = true;
    Transaction rewrite;
    auto rewritten = rewrite.add(write::UpdateParticipantState{state});
    EXPECT_TRUE(run_task(store_->commit(std::move(rewrite))).get<bool>(rewritten));
    auto again = run_task(store_->find_participant_state(m.id, bob.id));
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->audio_muted);
    EXPECT_TRUE(again->screen_sharing);

    Transaction remove;
    auto gone = remove.add(write::DeleteRow{AdminModel::message, msg.id});
    auto gone_state = remove.add(write::DeleteRow{AdminModel::participantstate, state.id});
    auto not_there = remove.add(write::DeleteRow{AdminModel::signal, 987654});
    Committed removed = run_task(store_->commit(std::move(remove)));
    EXPECT_TRUE(removed.get<bool>(gone));
    EXPECT_TRUE(removed.get<bool>(gone_state));
    EXPECT_FALSE(removed.get<bool>(not_there));
    EXPECT_TRUE(run_task(store_->list_messages(m.id, std::nullopt, 0)).rows.empty());
    EXPECT_FALSE(run_task(store_->find_participant_state(m.id, bob.id)));
}


// ---- the webhook outbox

namespace {

write::EnqueueWebhook webhook(std::string endpoint, Id meeting, std::string body) {
    write::EnqueueWebhook w;
    w.event = WebhookEvent{.event_id = "msg_" + body, .endpoint = std::move(endpoint), .type = "test",
                           .meeting_id = meeting, .body = std::move(body), .created_at = now_utc()};
    return w;
}

std::vector<WebhookEvent> claim(Store& store, const std::string& endpoint, std::optional<Id> meeting,
                                TimePoint now = now_utc(), std::string instance = "a") {
    Transaction tx;
    auto ref = tx.add(write::ClaimWebhooks{instance, now, now + seconds(10), 10, endpoint, meeting});
    return run_task(store.commit(std::move(tx))).take<std::vector<WebhookEvent>>(ref);
}

bool finish(Store& store, const WebhookEvent& e, std::string status, std::string instance = "a",
            TimePoint next = now_utc()) {
    Transaction tx;
    auto ref = tx.add(write::FinishWebhook{.id = e.id, .instance = std::move(instance), .status = std::move(status),
                                           .attempts = e.attempts + 1, .next_attempt_at = next,
                                           .last_status = 500, .last_error = "answered 500", .at = now_utc()});
    return run_task(store.commit(std::move(tx))).get<bool>(ref);
}

std::vector<std::string> bodies(const std::vector<WebhookEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.body);
    return out;
}

}  // namespace

// An event about rows the same commit creates carries their ids: each message of a group its
// own (PostgreSQL reads each one's id right after its INSERT), a new meeting its id as its meeting.
TEST_P(StoreContract, WebhookEventsCarryTheIdsTheirCommitGave) {
    User ada = user("ada@example.com");
    Meeting m = meeting(ada.id, "Hooks");
    Transaction tx;
    auto messages = tx.add(write::CreateMessages{m.id, ada.id, {"one", "two", "three"}});
    for (std::size_t i = 0; i < 3; ++i) {
        write::EnqueueWebhook w = webhook("http://127.0.0.1/h", m.id, "{\"id\":");
        w.event.event_id += std::to_string(i);
        w.body_tail = "}";
        w.subject = messages.index;
        w.item = i;
        tx.add(std::move(w));
    }
    Meeting fresh;
    fresh.title = "new";
    fresh.user_id = ada.id;
    fresh.scheduled_date = now_utc();
    auto created = tx.add(write::CreateMeeting{fresh});
    write::EnqueueWebhook about_meeting = webhook("http://127.0.0.1/h", 0, "[");
    about_meeting.body_tail = "]";
    about_meeting.subject = created.index;
    about_meeting.meeting_is_subject = true;
    tx.add(std::move(about_meeting));
    Committed done = run_task(store_->commit(std::move(tx)));
    auto stored = done.take<std::vector<Message>>(messages);
    Id new_meeting = done.get<Meeting>(created).id;

    Page<WebhookEvent> all = run_task(store_->list_webhook_events("pending", 100, 0));
    ASSERT_EQ(all.total, 4);
    std::vector<std::string> expected;
    expected.push_back("[" + std::to_string(new_meeting) + "]");  // newest first
    for (int i = 2; i >= 0; --i) expected.push_back("{\"id\":" + std::to_string(stored[i].id) + "}");
    EXPECT_EQ(bodies(all.rows), expected);
    EXPECT_EQ(all.rows[0].meeting_id, new_meeting);
    WebhookBacklog backlog = run_task(store_->webhook_backlog());
    EXPECT_EQ(backlog.pending, 4);
    EXPECT_TRUE(backlog.oldest.has_value());
}

// An update's event is written only when its meeting exists.
TEST_P(StoreContract, AWebhookEventThatNeedsItsMeetingIsDroppedWithoutIt) {
    User ada = user("ada@example.com");
    Meeting m = meeting(ada.id, "Hooks");
    Transaction tx;
    write::EnqueueWebhook present = webhook("http://h", m.id, "present");
    present.requires_meeting = true;
    write::EnqueueWebhook gone = webhook("http://h", m.id + 1000, "gone");
    gone.requires_meeting = true;
    tx.add(std::move(present));
    tx.add(std::move(gone));
    run_task(store_->commit(std::move(tx)));
    EXPECT_EQ(bodies(run_task(store_->list_webhook_events("", 10, 0)).rows), (std::vector<std::string>{"present"}));
}

// Only the first pending event of an endpoint's meeting can be claimed, once, until its lease
// lapses; its outcome counts only from the instance that holds it.
TEST_P(StoreContract, WebhookClaimsTakeEachMeetingsFirstEventUnderALease) {
    User ada = user("ada@example.com");
    Meeting a = meeting(ada.id, "A");
    Meeting b = meeting(ada.id, "B");
    Transaction tx;
    for (const char* body : {"a1", "a2"}) tx.add(webhook("http://h", a.id, body));
    tx.add(webhook("http://h", b.id, "b1"));
    tx.add(webhook("http://other", a.id, "other"));
    run_task(store_->commit(std::move(tx)));

    auto first = claim(*store_, "http://h", std::nullopt);
    EXPECT_EQ(bodies(first), (std::vector<std::string>{"a1", "b1"}));
    EXPECT_TRUE(claim(*store_, "http://h", std::nullopt).empty());  // leased
    EXPECT_TRUE(claim(*store_, "http://h", a.id).empty());
    EXPECT_FALSE(finish(*store_, first[0], "delivered", "b"));  // not b's
    EXPECT_TRUE(finish(*store_, first[0], "delivered"));
    EXPECT_EQ(bodies(claim(*store_, "http://h", a.id)), (std::vector<std::string>{"a2"}));
    // b1's lease lapses: another instance takes it over.
    auto later = claim(*store_, "http://h", b.id, now_utc() + seconds(11), "b");
    EXPECT_EQ(bodies(later), (std::vector<std::string>{"b1"}));
    // A failed attempt waits for its retry time, and holds back nothing else.
    EXPECT_TRUE(finish(*store_, later[0], "pending", "b", now_utc() + seconds(60)));
    EXPECT_TRUE(claim(*store_, "http://h", b.id, now_utc() + seconds(30), "c").empty());
    EXPECT_EQ(claim(*store_, "http://h", b.id, now_utc() + seconds(61), "c").size(), 1u);
    auto delivered = run_task(store_->list_webhook_events("delivered", 10, 0)).rows;
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].attempts, 1);
    EXPECT_EQ(delivered[0].last_status, 500);
    EXPECT_TRUE(delivered[0].delivered_at.has_value());
}

// A scan gives each meeting's first event only, and only where that one is due and free: a
// meeting whose first event waits for its retry, or is leased, gives nothing, however many
// events wait behind it.
TEST_P(StoreContract, AWebhookScanTakesOnlyFirstEventsThatAreDueAndFree) {
    User ada = user("ada@example.com");
    Meeting waiting = meeting(ada.id, "waiting");
    Meeting leased = meeting(ada.id, "leased");
    Meeting free = meeting(ada.id, "free");
    Transaction tx;
    for (int i = 0; i < 40; ++i) tx.add(webhook("http://h", waiting.id, std::string("w").append(std::to_string(i))));
    tx.add(webhook("http://h", leased.id, "l0"));
    tx.add(webhook("http://h", leased.id, "l1"));
    tx.add(webhook("http://h", free.id, "f0"));
    tx.add(webhook("http://h", free.id, "f1"));
    run_task(store_->commit(std::move(tx)));
    auto w0 = claim(*store_, "http://h", waiting.id);
    ASSERT_EQ(w0.size(), 10u);  // the claim's limit
    Transaction release;
    release.add(write::FinishWebhook{.id = w0[0].id, .instance = "a", .status = "pending", .attempts = 1,
                                     .next_attempt_at = now_utc() + seconds(60), .at = now_utc()});
    for (std::size_t i = 1; i < w0.size(); ++i)
        release.add(write::FinishWebhook{.id = w0[i].id, .instance = "a", .status = "pending", .attempts = 0,
                                         .next_attempt_at = w0[i].next_attempt_at, .at = now_utc()});
    run_task(store_->commit(std::move(release)));
    EXPECT_EQ(bodies(claim(*store_, "http://h", leased.id, now_utc(), "b")), (std::vector<std::string>{"l0", "l1"}));
    EXPECT_EQ(bodies(claim(*store_, "http://h", std::nullopt)), (std::vector<std::string>{"f0"}));
    EXPECT_TRUE(claim(*store_, "http://h", std::nullopt).empty());
    // A minute later the retry is due and the leases have lapsed: each meeting's first again.
    EXPECT_EQ(bodies(claim(*store_, "http://h", std::nullopt, now_utc() + seconds(61))),
              (std::vector<std::string>{"w0", "l0", "f0"}));
}

// A failed event can be made pending again; delivered ones are pruned after the retention and
// old pending ones fail.
TEST_P(StoreContract, WebhookRetriesAndPruning) {
    User ada = user("ada@example.com");
    Meeting m = meeting(ada.id, "M");
    Transaction tx;
    tx.add(webhook("http://h", m.id, "one"));
    run_task(store_->commit(std::move(tx)));
    auto claimed = claim(*store_, "http://h", m.id);
    ASSERT_EQ(claimed.size(), 1u);
    Transaction retry_pending;
    auto refused = retry_pending.add(write::RetryWebhook{claimed[0].id, now_utc()});
    EXPECT_FALSE(run_task(store_->commit(std::move(retry_pending))).get<bool>(refused));
    EXPECT_TRUE(finish(*store_, claimed[0], "failed"));
    Transaction retry;
    auto ok = retry.add(write::RetryWebhook{claimed[0].id, now_utc()});
    EXPECT_TRUE(run_task(store_->commit(std::move(retry))).get<bool>(ok));
    EXPECT_EQ(run_task(store_->list_webhook_events("pending", 10, 0)).rows.at(0).attempts, 0);

    Transaction prune;
    prune.add(write::PruneWebhooks{now_utc() - hours(1), now_utc() + seconds(1), now_utc()});
    run_task(store_->commit(std::move(prune)));
    auto failed = run_task(store_->list_webhook_events("failed", 10, 0)).rows;
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_NE(failed[0].last_error.value_or("").find("expired"), std::string::npos);
    auto again = claim(*store_, "http://h", m.id);
    EXPECT_TRUE(again.empty());
    Transaction retry2;
    retry2.add(write::RetryWebhook{claimed[0].id, now_utc()});
    run_task(store_->commit(std::move(retry2)));
    auto last = claim(*store_, "http://h", m.id);
    ASSERT_EQ(last.size(), 1u);
    EXPECT_TRUE(finish(*store_, last[0], "delivered"));
    Transaction prune_all;
    prune_all.add(write::PruneWebhooks{now_utc() + seconds(1), now_utc() - hours(1), now_utc()});
    run_task(store_->commit(std::move(prune_all)));
    EXPECT_EQ(run_task(store_->list_webhook_events("", 10, 0)).total, 0);
}

}  // namespace
}  // namespace castera
