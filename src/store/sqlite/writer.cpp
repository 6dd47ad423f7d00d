#include "store/sqlite/writer.hpp"

#include "observe/log.hpp"

namespace castera::sqlite {
namespace {

// Enough to amortise a commit; small enough that one commit stays short for the readers.
constexpr std::size_t kMaxBatch = 512;

// The log length at which SQLite's automatic checkpoint would run.
constexpr int kCheckpointPages = 1000;

// Runs one job inside a savepoint: a write that fails leaves nothing behind, and the others of
// the batch still commit.
void execute_in_savepoint(Connection& db, Writer::JobBase& job) {
    db.prepare("SAVEPOINT castera_write").run();
    job.execute(db);
    if (job.failed()) db.prepare("ROLLBACK TO castera_write").run();
    db.prepare("RELEASE castera_write").run();
}

}  // namespace

Writer::Writer(std::string path) : path_(std::move(path)), thread_([this] { thread_main(); }) {}

Writer::~Writer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void Writer::submit(std::unique_ptr<JobBase> job, Where where) {
    if (where == Where::caller_if_idle && claim_if_idle()) {
        job = write_here(std::move(job));
        release_from_caller();
        if (!job) return;
    }
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
}

bool Writer::claim_if_idle() {
    std::lock_guard lock(mutex_);
    // A checkpoint due makes the writer busy: callers writing back to back would otherwise
    // take the connection again before the thread wakes, and the log would grow without end.
    if (in_use_ || checkpoint_due_ || !queue_.empty() || stopping_) return false;
    in_use_ = true;
    return true;
}

void Writer::release_from_caller() {
    bool wake;
    {
        std::lock_guard lock(mutex_);
        in_use_ = false;
        checkpoint_due_ = checkpoint_due_ || (db_ && db_->wal_pages() >= kCheckpointPages);
        wake = checkpoint_due_ || !queue_.empty();
    }
    if (wake) wake_.notify_one();
}

std::unique_ptr<Writer::JobBase> Writer::write_here(std::unique_ptr<JobBase> job) {
    std::exception_ptr commit_failure;
    try {
        auto transaction = SqlTransaction::try_begin(connection());
        if (!transaction) return job;
        // Alone in its transaction: should the write fail, the transaction is undone with it.
        job->execute(*db_);
        if (!job->failed()) transaction->commit();
    } catch (...) {
        db_.reset();
        commit_failure = std::current_exception();
    }
    job->finish(commit_failure);
    return nullptr;
}

bool Writer::next_batch(std::deque<std::unique_ptr<JobBase>>& batch) {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return !in_use_ && (stopping_ || checkpoint_due_ || !queue_.empty()); });
    if (queue_.empty() && !checkpoint_due_) return false;  // stopping, and nothing left to do
    in_use_ = true;
    checkpoint_due_ = false;
    while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
    }
    return true;
}

void Writer::thread_main() {
    std::deque<std::unique_ptr<JobBase>> batch;
    while (next_batch(batch)) {
        if (!batch.empty()) {
            std::exception_ptr failure = write_batch(batch);
            for (auto& job : batch) job->finish(failure);
            batch.clear();
        }
        // After the callers are resumed: they need not wait for the checkpoint.
        checkpoint_if_due();
        std::lock_guard lock(mutex_);
        in_use_ = false;
    }
}

std::exception_ptr Writer::write_batch(std::deque<std::unique_ptr<JobBase>>& batch) {
    try {
        SqlTransaction transaction(connection());
        for (auto& job : batch) execute_in_savepoint(*db_, *job);
        transaction.commit();
        return nullptr;
    } catch (...) {
        // Nothing of the batch is written: every caller hears of it.
        db_.reset();
        return std::current_exception();
    }
}

// Opened on first use and again after a failure, so that a database that could not be opened
// once is tried again by the next write.
Connection& Writer::connection() {
    if (!db_) {
        db_.emplace(path_);
        db_->take_over_checkpoints();
    }
    return *db_;
}

void Writer::checkpoint_if_due() {
    if (!db_ || db_->wal_pages() < kCheckpointPages) return;
    try {
        db_->checkpoint();
    } catch (const std::exception& e) {
        // The next write tries again; a failing database shows itself there.
        log::warning("sqlite", "checkpoint failed", {{"error", e.what()}});
    }
}

}  // namespace castera::sqlite
