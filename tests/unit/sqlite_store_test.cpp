// The SQLite store against a throwaway database file: what SPEC section 1 asks of storage.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <future>
#include <set>
#include <random>

#include "run_task.hpp"
#include "util/time.hpp"

namespace castera {
namespace {

using testing::run_task;
using namespace std::chrono;

class SqliteStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("castera-store-test-" + std::to_string(std::random_device{}()));
        std::filesystem::create_directories(dir_);
        factory_ = make_store_factory("sqlite:" + (dir_ / "test.db").string());
        factory_->migrate();
        store_ = factory_->make_store();
    }
    void TearDown() override {
        store_.reset();
        factory_.reset();
        std::filesystem::remove_all(dir_);
    }

    User user(const std::string& email) {
        NewUser u;
        u.email = email;
        u.password = "!unusable";
        return run_task(store_->create_user(u));
    }
    Meeting meeting(Id owner, const std::string& title, TimePoint when = now_utc()) {
        Meeting m;
        m.title = title;
        m.user_id = owner;
        m.scheduled_date = when;
        return run_task(store_->create_meeting(m));
    }

    std::filesystem::path dir_;
    std::unique_ptr<StoreFactory> factory_;
    std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, MigrateIsIdempotent) {
    EXPECT_NO_THROW(factory_->migrate());
    EXPECT_NO_THROW(factory_->migrate());
}

TEST_F(SqliteStoreTest, UsersAreUniqueByEmail) {
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

TEST_F(SqliteStoreTest, MeetingsGetARoomUuidAndReadBack) {
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

TEST_F(SqliteStoreTest, PartialUpdatesTouchOnlyGivenFields) {
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

TEST_F(SqliteStoreTest, ListingsFilterOrderAndPage) {
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

TEST_F(SqliteStoreTest, MessagesAreOldestFirstWithTheAuthorsEmail) {
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

TEST_F(SqliteStoreTest, ParticipantStateIsCreatedOnceAndUpdated) {
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

TEST_F(SqliteStoreTest, DeletingAMeetingDeletesWhatHangsOffIt) {
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

TEST_F(SqliteStoreTest, DeletingAUserDeletesTheirMeetingsAndSessions) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "mine");
    run_task(store_->create_session(Session{"hash", a.id, now_utc() + hours(1)}));
    EXPECT_TRUE(run_task(store_->delete_user(a.id)));
    EXPECT_FALSE(run_task(store_->find_meeting(m.id)));
    EXPECT_FALSE(run_task(store_->find_session("hash")));
}

TEST_F(SqliteStoreTest, SessionsAreFoundByHashAndEndPerUser) {
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

TEST(StoreFactory, RefusesUnknownDatabaseUrls) {
    EXPECT_THROW(make_store_factory("mysql://x"), std::invalid_argument);
    EXPECT_THROW(make_store_factory("sqlite:"), std::invalid_argument);
}

// The change stamp lets the loops remember who is signed in: it must move with every write,
// from this store, from another connection, from another process alike.
TEST_F(SqliteStoreTest, ChangeStampMovesWithEveryWriteAndOnlyThen) {
    user("first@example.com");  // the WAL file exists from here on
    std::uint64_t before = store_->change_stamp();
    EXPECT_EQ(store_->change_stamp(), before) << "nothing was written";
    run_task(store_->find_user_by_email("first@example.com"));
    EXPECT_EQ(store_->change_stamp(), before) << "a read is no change";

    auto other = factory_->make_store();  // another connection, as another loop or process
    run_task(other->create_user(NewUser{.email = "second@example.com", .password = "!x"}));
    std::uint64_t after_other = store_->change_stamp();
    EXPECT_NE(after_other, before);
    EXPECT_EQ(store_->change_stamp(), after_other);

    run_task(store_->create_session(Session{std::string(64, 'a'), 1, now_utc() + hours(1)}));
    std::uint64_t after_own = store_->change_stamp();
    EXPECT_NE(after_own, after_other) << "a write through this store";
    run_task(store_->delete_session(std::string(64, 'a')));
    EXPECT_NE(store_->change_stamp(), after_own) << "a delete through this store";
}

TEST_F(SqliteStoreTest, SessionUserComesInOneLookup) {
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

TEST_F(SqliteStoreTest, SeveralMessagesAreStoredTogetherInOrder) {
    User u = user("author@example.com");
    Meeting m = meeting(u.id, "burst");
    auto stored = run_task(store_->create_messages(m.id, u.id, {"one", "two", "three"}));
    ASSERT_EQ(stored.size(), 3u);
    EXPECT_EQ(stored[0].content, "one");
    EXPECT_EQ(stored[2].content, "three");
    EXPECT_LT(stored[0].id, stored[1].id);
    EXPECT_LT(stored[1].id, stored[2].id);
    EXPECT_LE(stored[0].timestamp, stored[2].timestamp);
    EXPECT_EQ(stored[1].user_email, "author@example.com");
    auto listed = run_task(store_->list_messages(m.id, std::nullopt, 0)).rows;
    ASSERT_EQ(listed.size(), 3u);
    EXPECT_EQ(listed[1].id, stored[1].id);
    EXPECT_EQ(listed[1].content, "two");
}

TEST_F(SqliteStoreTest, SessionUserAndMeetingComeTogether) {
    User u = user("session@example.com");
    Meeting m = meeting(u.id, "ahead");
    run_task(store_->create_session(Session{std::string(64, 'a'), u.id, now_utc() + hours(1)}));
    auto both = run_task(store_->find_session_user_and_meeting(std::string(64, 'a'), m.id));
    ASSERT_TRUE(both.found);
    EXPECT_EQ(both.found->user.email, "session@example.com");
    ASSERT_TRUE(both.meeting);
    EXPECT_EQ(both.meeting->title, "ahead");
    auto no_meeting = run_task(store_->find_session_user_and_meeting(std::string(64, 'a'), m.id + 1000));
    EXPECT_TRUE(no_meeting.found);
    EXPECT_FALSE(no_meeting.meeting);
    auto no_session = run_task(store_->find_session_user_and_meeting(std::string(64, 'f'), m.id));
    EXPECT_FALSE(no_session.found);
    EXPECT_FALSE(no_session.meeting);
}

// Writes queued together share a commit; one that fails (a taken email) fails alone, and
// every other write of the same commit is there afterwards.
TEST_F(SqliteStoreTest, GroupedWritesFailOneByOne) {
    user("taken@example.com");
    boost::asio::io_context io;
    std::vector<std::future<User>> results;
    for (int i = 0; i < 40; ++i) {
        std::string email = i == 20 ? "taken@example.com" : "writer" + std::to_string(i) + "@example.com";
        results.push_back(boost::asio::co_spawn(
            io, store_->create_user(NewUser{.email = email, .password = "!x"}), boost::asio::use_future));
    }
    io.run();
    std::set<Id> ids;
    for (int i = 0; i < 40; ++i) {
        if (i == 20) {
            EXPECT_THROW(results[i].get(), StoreConflict);
            continue;
        }
        User made = results[i].get();
        ids.insert(made.id);
        auto stored = run_task(store_->find_user(made.id));
        ASSERT_TRUE(stored) << "write " << i << " was acknowledged but is not in the database";
        EXPECT_EQ(stored->email, made.email);
    }
    EXPECT_EQ(ids.size(), 39u) << "every write got an id of its own";
}

}  // namespace
}  // namespace castera
