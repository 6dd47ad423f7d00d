// What only the SQLite store has (the change stamp, grouped writer commits); the contract
// both stores keep is in store_contract_test.cpp.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <future>
#include <set>
#include <random>

#include "run_task.hpp"
#include "store_rows.hpp"
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

    User user(const std::string& email) { return testing::add_user(*store_, email); }
    Meeting meeting(Id owner, const std::string& title, TimePoint when = now_utc()) {
        return testing::add_meeting(*store_, owner, title, when);
    }

    std::filesystem::path dir_;
    std::unique_ptr<StoreFactory> factory_;
    std::unique_ptr<Store> store_;
};

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

// Writes queued together share a commit; one that fails (a taken email) fails alone, and
// every other write of the same commit is there afterwards.
// A database from before version 7 has the outbox's old indexes, which every insert paid for:
// migrating drops them and makes the partial ones.
TEST_F(SqliteStoreTest, VersionSevenReplacesTheOutboxsOldIndexes) {
    std::string path = (dir_ / "test.db").string();
    auto exec = [&](const std::string& sql) {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        sqlite3_close(db);
    };
    auto indexes = [&] {
        std::set<std::string> names;
        sqlite3* db = nullptr;
        sqlite3_open(path.c_str(), &db);
        sqlite3_exec(
            db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'castera_webhook_event'",
            [](void* out, int, char** values, char**) {
                static_cast<std::set<std::string>*>(out)->insert(values[0]);
                return 0;
            },
            &names, nullptr);
        sqlite3_close(db);
        return names;
    };
    // As version 6 left it.
    exec("DROP INDEX castera_webhook_event_delivered; DROP INDEX castera_webhook_event_failed; "
         "CREATE INDEX castera_webhook_event_pending ON castera_webhook_event (id) WHERE status = 'pending'; "
         "CREATE INDEX castera_webhook_event_status ON castera_webhook_event (status, id); "
         "DELETE FROM castera_schema_version WHERE version = 7");
    factory_->migrate();
    EXPECT_EQ(indexes(), (std::set<std::string>{"castera_webhook_event_queue", "castera_webhook_event_delivered",
                                                "castera_webhook_event_failed"}));
    EXPECT_EQ(run_task(store_->list_webhook_events("failed", 10, 0)).total, 0);
}

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
