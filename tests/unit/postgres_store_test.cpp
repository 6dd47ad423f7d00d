// What only the PostgreSQL store has (Django-made databases, lost connections, pipelining);
// the contract both stores keep is in store_contract_test.cpp. It runs when
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

#include "pg_admin.hpp"
#include "run_task.hpp"
#include "store_rows.hpp"
#include "util/time.hpp"

namespace castera {
namespace {

using testing::Admin;
using testing::run_task;
using namespace std::chrono;

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

    User user(const std::string& email) { return testing::add_user(*store_, email); }
    Meeting meeting(Id owner, const std::string& title, TimePoint when = now_utc()) {
        return testing::add_meeting(*store_, owner, title, when);
    }
    std::string count(const std::string& table) { return admin_->exec("SELECT count(*) FROM " + schema_ + "." + table); }

    std::string schema_, application_, url_;
    std::unique_ptr<Admin> admin_;
    std::unique_ptr<StoreFactory> factory_;
    std::unique_ptr<Store> store_;
};

// Every test opens the store first.
class OpenPostgresStoreTest : public PostgresStoreTest {
protected:
    void SetUp() override {
        PostgresStoreTest::SetUp();
        if (!IsSkipped()) open();
    }
};

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

// Another instance claims a meeting's first event while this one is claiming the meeting: this
// one must not take the events behind it (sent before the first, they would arrive out of
// order). The other claim is still uncommitted when this claim starts and commits while this
// claim waits for its row, the moment a single statement's snapshot would still see the first
// event free.
TEST_F(OpenPostgresStoreTest, AMeetingsEventsAreNotClaimedBehindAnotherInstancesClaimOfItsFirst) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "ordered");
    Transaction enqueue;
    for (std::string body : {"first", "second", "third"}) {
        write::EnqueueWebhook w;
        w.event = WebhookEvent{.event_id = "msg_" + body, .endpoint = "http://h", .type = "test",
                               .meeting_id = m.id, .body = body, .created_at = now_utc()};
        enqueue.add(std::move(w));
    }
    run_task(store_->commit(std::move(enqueue)));
    admin_->exec("BEGIN");
    admin_->exec("UPDATE " + schema_ + ".castera_webhook_event SET claimed_by = 'other', claimed_until = "
                 "now() + interval '1 minute' WHERE body = 'first'");
    std::vector<Task<std::vector<std::string>>> tasks;
    tasks.push_back([](Store& store, Id meeting) -> Task<std::vector<std::string>> {
        TimePoint now = now_utc();
        Transaction claim;
        auto ref = claim.add(write::ClaimWebhooks{"this", now, now + seconds(10), 10, "http://h", meeting});
        Committed done = co_await store.commit(std::move(claim));
        std::vector<std::string> bodies;
        for (const WebhookEvent& e : done.take<std::vector<WebhookEvent>>(ref)) bodies.push_back(e.body);
        co_return bodies;
    }(*store_, m.id));
    tasks.push_back([](Admin& admin, std::string application) -> Task<std::vector<std::string>> {
        // Once the claim waits for the first event's row lock, the other instance commits.
        auto executor = co_await boost::asio::this_coro::executor;
        for (int i = 0; i < 500; ++i) {
            std::string waiting = admin.exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                                             application + "' AND wait_event_type = 'Lock'");
            if (waiting != "0") break;
            boost::asio::steady_timer pause(executor, milliseconds(10));
            co_await pause.async_wait(boost::asio::use_awaitable);
        }
        admin.exec("COMMIT");
        co_return std::vector<std::string>{};
    }(*admin_, application_));
    auto results = run_together(std::move(tasks));
    EXPECT_EQ(results[0].get(), std::vector<std::string>{});
}

// UPDATE ... RETURNING gives rows in the order it met them on disk, not by id: a claimed batch
// must still come back oldest first, the order the worker sends it in. The rows are rewritten
// newest first here, so that the table holds them in the opposite order.
TEST_F(OpenPostgresStoreTest, AClaimedBatchComesBackOldestFirstWhateverTheRowsOrderOnDisk) {
    User a = user("a@example.com");
    Meeting m = meeting(a.id, "batch");
    Transaction enqueue;
    for (int i = 0; i < 32; ++i) {
        write::EnqueueWebhook w;
        std::string body = std::to_string(100 + i);
        w.event = WebhookEvent{.event_id = "msg_" + body, .endpoint = "http://h", .type = "test",
                               .meeting_id = m.id, .body = body, .created_at = now_utc()};
        enqueue.add(std::move(w));
    }
    run_task(store_->commit(std::move(enqueue)));
    std::string table = schema_ + ".castera_webhook_event";
    for (int i = 31; i >= 0; --i)
        admin_->exec("UPDATE " + table + " SET attempts = 0 WHERE body = '" + std::to_string(100 + i) + "'");
    admin_->exec("ANALYZE " + table);
    TimePoint now = now_utc();
    Transaction claim;
    auto ref = claim.add(write::ClaimWebhooks{"this", now, now + seconds(10), 32, "http://h", m.id});
    std::vector<std::string> bodies;
    for (const WebhookEvent& e : run_task(store_->commit(std::move(claim))).take<std::vector<WebhookEvent>>(ref))
        bodies.push_back(e.body);
    std::vector<std::string> expected;
    for (int i = 0; i < 32; ++i) expected.push_back(std::to_string(100 + i));
    EXPECT_EQ(bodies, expected);
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
