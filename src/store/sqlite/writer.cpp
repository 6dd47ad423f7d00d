#include "store/sqlite/writer.hpp"

namespace castera::sqlite {
namespace {

// Enough to amortise a commit; small enough that one commit stays short for the readers.
constexpr std::size_t kMaxBatch = 512;

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

void Writer::submit(std::unique_ptr<JobBase> job) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
}

bool Writer::next_batch(std::deque<std::unique_ptr<JobBase>>& batch) {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return false;  // stopping, and nothing left to write
    while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
    }
    return true;
}

void Writer::thread_main() {
    std::deque<std::unique_ptr<JobBase>> batch;
    while (next_batch(batch)) {
        std::exception_ptr failure = write_batch(batch);
        for (auto& job : batch) job->finish(failure);
        batch.clear();
    }
}

std::exception_ptr Writer::write_batch(std::deque<std::unique_ptr<JobBase>>& batch) {
    try {
        // Opened here, on first use and again after a failure, so that a database that could
        // not be opened once is tried again by the next write.
        if (!db_) db_.emplace(path_);
        Transaction transaction(*db_);
        for (auto& job : batch) execute_in_savepoint(*db_, *job);
        transaction.commit();
        return nullptr;
    } catch (...) {
        // Nothing of the batch is written: every caller hears of it.
        db_.reset();
        return std::current_exception();
    }
}

}  // namespace castera::sqlite
