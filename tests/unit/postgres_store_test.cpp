// The PostgreSQL store against a real server, the same checks as the SQLite store's plus what
// only PostgreSQL has (Django-made databases, lost connections). It runs when
// CASTERA_TEST_PG_URL names a database the tests may write to (scripts/test starts one); each
// test works in a schema of its own, so tests may run in parallel on one database.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <future>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>

#include "run_task.hpp"
#include "util/time.hpp"

namespace castera {
namespace {

using testing::run_task;
using namespace std::chrono;

// A blocking connection for setting up and inspecting the test's schema.
class Admin {
public:
    explicit Admin(const std::string& url) : conn_(PQconnectdb(url.c_str()), &PQfinish) {
        if (PQstatus(conn_.get()) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_.get()));
        PQsetNoticeProcessor(conn_.get(), [](void*, const char*) {}, nullptr);
    }
    // Runs SQL and returns the first value of the first row ("" when there is none).
    std::string exec(const std::string& sql) {
        std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn_.get(), sql.c_str()), &PQclear);
        auto status = PQresultStatus(r.get());
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
            throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
        return PQntuples(r.get()) > 0 ? PQgetvalue(r.get(), 0, 0) : "";
    }

private:
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn_;
};

class PostgresStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        const char* url = std::getenv("CASTERA_TEST_PG_URL");
        if (!url || !*url) GTEST_SKIP() << "set CASTERA_TEST_PG_URL to run the PostgreSQL store tests";
        std::string tag = std::to_string(std::random_device{}());
        schema_ = "castera_unit_" + tag;
        application_ = "castera-unit-" + tag;
        std::string base = url;
        base += base.find('?') == std::string::npos ? "?" : "&";
        url_ = base + "options=-c%20search_path%3D" + schema_ + "&application_name=" + application_;
        admin_ = std::make_unique<Admin>(url);
        admin_->exec("CREATE SCHEMA " + schema_);
    }
    void TearDown() override {
        store_.reset();
        factory_.reset();
        if (admin_) admin_->exec("DROP SCHEMA " + schema_ + " CASCADE");
    }

    // The store on the test's schema, migrated.
    void open() {
        factory_ = make_store_factory(url_);
        factory_->migrate();
        store_ = factory_->make_store();
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
    std::string count(const std::string& table) { return admin_->exec("SELECT count(*) FROM " + schema_ + "." + table); }

    std::string schema_, application_, url_;
    std::unique_ptr<Admin> admin_;
    std::unique_ptr<StoreFactory> factory_;
    std::unique_ptr<Store> store_;
};

// The same checks as the SQLite store's: every test opens the store first.
class OpenPostgresStoreTest : public PostgresStoreTest {
protected:
    void SetUp() override {
        PostgresStoreTest::SetUp();
        if (!IsSkipped()) open();
    }
};

TEST_F(OpenPostgresStoreTest, MigrateIsIdempotent) {
    EXPECT_NO_THROW(factory_->migrate());
    EXPECT_NO_THROW(factory_->migrate());
}

TEST_F(OpenPostgresStoreTest, UsersAreUniqueByEmail) {
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

TEST_F(OpenPostgresStoreTest, MeetingsGetARoomUuidAndReadBack) {
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

TEST_F(OpenPostgresStoreTest, PartialUpdatesTouchOnlyGivenFields) {
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

TEST_F(OpenPostgresStoreTest, ListingsFilterOrderAndPage) {
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

TEST_F(OpenPostgresStoreTest, MessagesAreOldestFirstWithTheAuthorsEmail) {
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

TEST_F(OpenPostgresStoreTest, ParticipantStateIsCreatedOnceAndUpdated) {
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

TEST_F(OpenPostgresStoreTest, DeletingAMeetingDeletesWhatHangsOffIt) {
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

TEST_F(OpenPostgresStoreTest, DeletingAUserDeletesTheirMeetingsAndSessions) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "mine");
    run_task(store_->create_session(Session{"hash", a.id, now_utc() + hours(1)}));
    EXPECT_TRUE(run_task(store_->delete_user(a.id)));
    EXPECT_FALSE(run_task(store_->find_meeting(m.id)));
    EXPECT_FALSE(run_task(store_->find_session("hash")));
}

TEST_F(OpenPostgresStoreTest, SeveralMessagesAreStoredInOrder) {
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

TEST_F(OpenPostgresStoreTest, SessionUserAndMeetingComeInOneStatement) {
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

TEST_F(OpenPostgresStoreTest, SessionsAreFoundByHashAndEndPerUser) {
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

TEST_F(OpenPostgresStoreTest, TimesKeepTheirMicroseconds) {
    User a = user("a@example.com");
    TimePoint when = TimePoint{sys_days{2031y / 2 / 3}} + hours(4) + minutes(5) + seconds(6) + microseconds(7);
    Meeting m = meeting(a.id, "precise", when);
    auto found = run_task(store_->find_meeting(m.id));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->scheduled_date, when);
    EXPECT_EQ(found->created_on, m.created_on);
}

TEST_F(OpenPostgresStoreTest, RoomLookupsAcceptOnlyUuids) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "room");
    EXPECT_FALSE(run_task(store_->find_meeting_by_room("not-a-uuid")));
    std::string upper = m.room_id;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto found = run_task(store_->find_meeting_by_room(upper));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->room_id, m.room_id);
}

TEST_F(OpenPostgresStoreTest, NewRowsAreValidForDjango) {
    // Django sets no database defaults: castera writes every NOT NULL column itself.
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "defaults");
    run_task(store_->set_participant_flag(m.id, a.id, ParticipantFlag::raised_hand, true));
    EXPECT_EQ(admin_->exec("SELECT role || is_active || is_staff || is_superuser FROM " + schema_ + ".users_user"),
              "usertruefalsefalse");
    EXPECT_EQ(admin_->exec("SELECT type_of || status FROM " + schema_ + ".meetings_meeting"), "publicactive");
    EXPECT_EQ(admin_->exec("SELECT audio_muted::text || video_stopped || in_call || raised_hand || screen_sharing FROM " +
                           schema_ + ".meetings_participantstate"),
              "falsefalsetruetruefalse");
}

TEST_F(OpenPostgresStoreTest, DeletingAUserLeavesOtherPeoplesMeetings) {
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
    EXPECT_EQ(count("meetings_message"), "1");
}

TEST_F(OpenPostgresStoreTest, ApiTokensAreFoundByHashAndDeletedByTheirOwner) {
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

TEST_F(OpenPostgresStoreTest, ALostConnectionIsReplaced) {
    User a = user("a@example.com");
    ASSERT_TRUE(run_task(store_->ping()));
    admin_->exec("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '" +
                 application_ + "'");
    std::this_thread::sleep_for(milliseconds(200));
    // The next request may fail (503) or find the connection gone before using it; the one
    // after it is served on a new connection either way.
    try {
        run_task(store_->find_user(a.id));
    } catch (const StoreUnavailable&) {
    }
    auto found = run_task(store_->find_user(a.id));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->email, "a@example.com");
}

// Runs the tasks side by side on one loop, as concurrent requests do, and waits for all.
template <typename T>
std::vector<std::future<T>> run_together(std::vector<Task<T>> tasks) {
    boost::asio::io_context io;
    std::vector<std::future<T>> results;
    for (auto& task : tasks) results.push_back(boost::asio::co_spawn(io, std::move(task), boost::asio::use_future));
    io.run();
    return results;
}

TEST_F(OpenPostgresStoreTest, ConcurrentStatementsSharePipelinedConnections) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "busy");
    std::vector<Task<std::string>> tasks;
    for (int i = 0; i < 300; ++i) {
        if (i % 3 == 0) {
            tasks.push_back([](Store& store, Id user) -> Task<std::string> {
                co_return (co_await store.find_user(user))->email;
            }(*store_, a.id));
        } else if (i % 3 == 1) {
            tasks.push_back([](Store& store, Id meeting) -> Task<std::string> {
                co_return (co_await store.find_meeting(meeting))->title;
            }(*store_, m.id));
        } else {
            tasks.push_back([](Store& store, Id meeting, Id user, int i) -> Task<std::string> {
                co_return (co_await store.create_message(meeting, user, "m" + std::to_string(i))).content;
            }(*store_, m.id, a.id, i));
        }
    }
    auto results = run_together(std::move(tasks));
    for (int i = 0; i < 300; ++i) {
        std::string got = results[static_cast<std::size_t>(i)].get();
        if (i % 3 == 0) EXPECT_EQ(got, "a@example.com");
        else if (i % 3 == 1) EXPECT_EQ(got, "busy");
        else EXPECT_EQ(got, std::string("m").append(std::to_string(i)));
    }
    EXPECT_EQ(count("meetings_message"), "100");
    // 300 statements at once went over the pool's connections (2 by default), not 300.
    EXPECT_LE(std::stoi(admin_->exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                                     application_ + "'")),
              2);
}

TEST_F(OpenPostgresStoreTest, AFailingReadFailsAloneAndWritesBesideItStay) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "neighbours");
    // A statement that fails at the server: its table is gone (the store prepares it anew).
    admin_->exec("ALTER TABLE " + schema_ + ".castera_api_token RENAME TO api_token_elsewhere");
    std::vector<Task<std::string>> tasks;
    for (int i = 0; i < 40; ++i) {
        if (i % 10 == 5) {
            tasks.push_back([](Store& store) -> Task<std::string> {
                try {
                    co_await store.find_api_token(std::string(64, 'a'));
                    co_return "found";
                } catch (const StoreUnavailable&) {
                    co_return "unavailable";
                }
            }(*store_));
        } else if (i % 2 == 0) {
            tasks.push_back([](Store& store, Id user) -> Task<std::string> {
                co_return (co_await store.find_user(user))->email;
            }(*store_, a.id));
        } else {
            tasks.push_back([](Store& store, Id meeting, Id user) -> Task<std::string> {
                co_return (co_await store.create_message(meeting, user, "kept")).content;
            }(*store_, m.id, a.id));
        }
    }
    auto results = run_together(std::move(tasks));
    int written = 0;
    for (int i = 0; i < 40; ++i) {
        std::string got = results[static_cast<std::size_t>(i)].get();
        if (i % 10 == 5) EXPECT_EQ(got, "unavailable");
        else if (i % 2 == 0) EXPECT_EQ(got, "a@example.com");
        else {
            EXPECT_EQ(got, "kept");
            ++written;
        }
    }
    // Every write that was answered is in the database.
    EXPECT_EQ(count("meetings_message"), std::to_string(written));
    // The connection is still good for the next request.
    EXPECT_TRUE(run_task(store_->find_user(a.id)));
}

TEST_F(OpenPostgresStoreTest, AStatementHeldUpDoesNotHoldUpTheOthers) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "held");
    // Another session locks the user's row: the store's update of that user waits for it.
    admin_->exec("BEGIN");
    admin_->exec("SELECT id FROM " + schema_ + ".users_user WHERE id = " + std::to_string(a.id) + " FOR UPDATE");
    auto started = steady_clock::now();
    std::vector<Task<std::string>> tasks;
    tasks.push_back([](Store& store, User who) -> Task<std::string> {
        who.full_name = "Changed";
        co_await store.update_user(who);
        co_return "updated";
    }(*store_, a));
    // A read a moment later goes over another connection, and only then is the lock released:
    // queued behind the update, it would wait for it until the query timeout.
    tasks.push_back([](Store& store, Admin& admin, Id meeting) -> Task<std::string> {
        boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor, milliseconds(20));
        co_await pause.async_wait(boost::asio::use_awaitable);
        std::string title = (co_await store.find_meeting(meeting))->title;
        admin.exec("COMMIT");
        co_return title;
    }(*store_, *admin_, m.id));
    auto results = run_together(std::move(tasks));
    EXPECT_EQ(results[0].get(), "updated");
    EXPECT_EQ(results[1].get(), "held");
    EXPECT_LT(steady_clock::now() - started, seconds(5));
}

TEST_F(PostgresStoreTest, MigrateLeavesADjangoDatabaseAlone) {
    // A users table as Django made it, with a column castera does not know.
    admin_->exec("CREATE TABLE " + schema_ +
                 ".users_user (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, password varchar(128) NOT NULL, "
                 "last_login timestamptz NULL, is_superuser boolean NOT NULL, email varchar(254) NOT NULL UNIQUE, "
                 "full_name varchar(255) NULL, image varchar(200) NULL, role varchar(50) NOT NULL, "
                 "is_active boolean NOT NULL, is_staff boolean NOT NULL, legacy text NULL)");
    open();
    EXPECT_NO_THROW(factory_->migrate());
    EXPECT_EQ(admin_->exec("SELECT to_regclass('" + schema_ + ".meetings_meeting') IS NULL"), "t");
    EXPECT_EQ(admin_->exec("SELECT to_regclass('" + schema_ + ".castera_session') IS NOT NULL"), "t");
    EXPECT_EQ(admin_->exec("SELECT count(*) FROM information_schema.columns WHERE table_schema = '" + schema_ +
                           "' AND table_name = 'users_user' AND column_name = 'legacy'"),
              "1");
    User a = user("a@example.com");
    EXPECT_EQ(run_task(store_->find_user_by_email("a@example.com"))->id, a.id);
}

TEST(PostgresStoreFactory, AcceptsBothUrlSchemesAndHidesThePassword) {
    auto factory = make_store_factory("postgres://me:secret@db.example:5433/castera");
    EXPECT_EQ(factory->describe(), "postgresql://me@db.example:5433/castera");
    EXPECT_NO_THROW(make_store_factory("postgresql:///castera?host=/tmp"));
}

}  // namespace
}  // namespace castera
