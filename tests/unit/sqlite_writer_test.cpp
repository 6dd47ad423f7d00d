// The SQLite writer: where a write runs, that a caller never waits for another process's
// write lock, and that checkpoints keep the log short when writes run on their callers, empty
// it for the callers to append to, and never wait for a reader.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>
#include <atomic>

#include "store/sqlite/connection.hpp"
#include "store/sqlite/writer.hpp"

namespace castera::sqlite {
namespace {

using namespace std::chrono;
using Where = Writer::Where;

class SqliteWriterTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("castera-writer-test-" + std::to_string(std::random_device{}()));
        std::filesystem::create_directories(dir_);
        path_ = (dir_ / "test.db").string();
        Connection(path_).execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
        writer_.emplace(path_);
    }
    void TearDown() override {
        writer_.reset();
        std::filesystem::remove_all(dir_);
    }

    // Inserts a note through the writer from a loop of this thread; answers the thread the
    // write ran on.
    std::future<std::thread::id> start_insert(boost::asio::io_context& io, std::string body, Where where) {
        auto work = [body = std::move(body)](Connection& db) {
            db.prepare("INSERT INTO notes (body) VALUES (?1)").bind(1, body).run();
            return std::this_thread::get_id();
        };
        return boost::asio::co_spawn(io, writer_->run(std::move(work), where), boost::asio::use_future);
    }

    std::thread::id insert(std::string body, Where where = Where::caller_if_idle) {
        boost::asio::io_context io;
        auto ran_on = start_insert(io, std::move(body), where);
        io.run();
        return ran_on.get();
    }

    std::int64_t count_notes() {
        Connection reader(path_);
        auto row = reader.prepare("SELECT count(*) FROM notes");
        row.step();
        return row.column_int(0);
    }

    std::uintmax_t log_size() { return std::filesystem::file_size(path_ + "-wal"); }

    // The log file's size with its header and `frames` frames (each a page and its header),
    // while it has never started over.
    std::uintmax_t log_size_with(std::uintmax_t frames) {
        Connection db(path_);
        auto row = db.prepare("PRAGMA page_size");
        row.step();
        return 32 + frames * (24 + static_cast<std::uintmax_t>(row.column_int(0)));
    }

    // Writes on this thread until the log holds the 1,000 pages that make a checkpoint due.
    void fill_log_until_checkpoint_due() {
        const std::uintmax_t due = log_size_with(1000);
        std::string body(16 << 10, 'x');
        for (int i = 0; i < 1000 && log_size() < due; ++i) insert(body);
        ASSERT_GE(log_size(), due);
    }

    // Waits up to 10 s for the log file to have `size` bytes; answers its size then.
    std::uintmax_t wait_for_log_size(std::uintmax_t size) {
        for (auto until = steady_clock::now() + 10s; log_size() != size && steady_clock::now() < until;)
            std::this_thread::sleep_for(5ms);
        return log_size();
    }

    std::filesystem::path dir_;
    std::string path_;
    std::optional<Writer> writer_;
};

TEST_F(SqliteWriterTest, AWriteThatFindsTheWriterIdleRunsOnItsCaller) {
    EXPECT_EQ(insert("hello"), std::this_thread::get_id());
    EXPECT_EQ(count_notes(), 1);
}

TEST_F(SqliteWriterTest, ALongWriteRunsOnTheWriterThread) {
    EXPECT_NE(insert("a long one", Where::writer_thread), std::this_thread::get_id());
    EXPECT_EQ(count_notes(), 1);
}

TEST_F(SqliteWriterTest, AWriteResumesItsCallerThroughTheLoopNotFromInsideTheCall) {
    boost::asio::io_context io;
    auto ran_on = start_insert(io, "hello", Where::caller_if_idle);
    io.run_one();  // the coroutine starts, and the write runs
    EXPECT_EQ(ran_on.wait_for(0s), std::future_status::timeout);
    io.run();
    EXPECT_EQ(ran_on.get(), std::this_thread::get_id());
}

TEST_F(SqliteWriterTest, ACallerNeverWaitsForAnotherProcesssWriteLock) {
    Connection other(path_);
    std::optional<SqlTransaction> held(std::in_place, other);  // BEGIN IMMEDIATE: the write lock
    boost::asio::io_context io;
    auto started = steady_clock::now();
    auto ran_on = start_insert(io, "waits", Where::caller_if_idle);
    io.run_for(300ms);
    // The loop was free all along: the write went to the writer thread, which waits.
    EXPECT_LT(steady_clock::now() - started, 1s);
    EXPECT_EQ(ran_on.wait_for(0s), std::future_status::timeout);
    held->commit();
    held.reset();
    io.run();
    EXPECT_NE(ran_on.get(), std::this_thread::get_id());
    EXPECT_EQ(count_notes(), 1);
}

TEST_F(SqliteWriterTest, LoopsWritingAtOnceLoseNothing) {
    // Four loops, each 500 writes: some find the writer idle and write themselves, the others
    // queue for the thread meanwhile.
    constexpr int kLoops = 4, kWrites = 500;
    std::vector<std::thread> loops;
    std::atomic<int> on_caller{0}, on_thread{0};
    for (int l = 0; l < kLoops; ++l)
        loops.emplace_back([&, l] {
            for (int i = 0; i < kWrites; ++i) {
                auto ran_on = insert("loop " + std::to_string(l) + " write " + std::to_string(i),
                                     i % 7 == 0 ? Where::writer_thread : Where::caller_if_idle);
                ++(ran_on == std::this_thread::get_id() ? on_caller : on_thread);
            }
        });
    for (auto& loop : loops) loop.join();
    EXPECT_EQ(count_notes(), kLoops * kWrites);
    EXPECT_GT(on_caller.load(), 0);
    EXPECT_GT(on_thread.load(), 0);
}

TEST_F(SqliteWriterTest, CheckpointsKeepTheLogShortWhenWritesRunOnTheirCallers) {
    // 2,000 writes of 16 KiB: 32 MiB of log without checkpoints, about 4 MiB with them.
    std::string body(16 << 10, 'x');
    for (int i = 0; i < 2000; ++i) insert(body);
    EXPECT_EQ(count_notes(), 2000);
    EXPECT_LT(log_size(), 12u << 20) << "the log was not checkpointed";
}

TEST_F(SqliteWriterTest, ACheckpointEmptiesTheLogAndTheWriterStartsTheNewOne) {
    // Callers' commits then only append to the log: they never write over a block of it (which
    // may first have to be read back from the disk) nor make the new log's first commit (which
    // syncs its header).
    // Measured before: a connection opened during the checkpoint would be a reader of the log.
    const std::uintmax_t one_frame = log_size_with(1);
    insert("first");
    fill_log_until_checkpoint_due();
    // The checkpoint runs on the writer's thread; it empties the file, then commits one frame.
    EXPECT_EQ(wait_for_log_size(one_frame), one_frame);
    insert("after");
    EXPECT_GT(log_size(), one_frame) << "the next commit did not follow the writer's frame";
    Connection reader(path_);
    auto row = reader.prepare("SELECT body FROM notes ORDER BY id DESC LIMIT 1");
    ASSERT_TRUE(row.step());
    EXPECT_EQ(row.column_text(0), "after");
}

TEST_F(SqliteWriterTest, ACheckpointNeverWaitsForAReaderOfTheLog) {
    insert("before");
    Connection reader(path_);
    reader.execute("BEGIN");
    {
        auto row = reader.prepare("SELECT count(*) FROM notes");
        row.step();  // the reader's snapshot now holds the log
    }
    fill_log_until_checkpoint_due();
    // The checkpoint copies what it can and leaves the log as it is; the writer is free again
    // at once, not after the busy timeout (5 s). The first write is served before the
    // checkpoint, the second after it.
    auto started = steady_clock::now();
    insert("meanwhile");
    insert("after the checkpoint");
    EXPECT_LT(steady_clock::now() - started, 2s);
    EXPECT_GE(log_size(), log_size_with(1000)) << "the log was emptied under its reader";
    reader.execute("COMMIT");
}

}  // namespace
}  // namespace castera::sqlite
