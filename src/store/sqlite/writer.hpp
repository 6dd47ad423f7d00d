// The one writer of an SQLite database for the whole process. A write that finds it idle runs
// at once on the caller's thread: handing it to another thread and back would cost two
// wake-ups of sleeping threads (50-300 us each on a virtual machine), more than the write.
// Writes that find it busy queue up; its thread runs whatever has queued meanwhile in one
// transaction (each write in a savepoint of its own, so one write's failure is only its own),
// commits once, and only then resumes each caller on its own loop. Under load a commit carries
// many writes. Callers are event loops, so they never wait for SQLite's write lock: when
// another process holds it, the write goes to the thread, which may wait. Checkpoints run on
// the thread too, never in a caller's commit, and so does the first commit of the log that a
// checkpoint empties (it syncs the log's header): a caller's commit only appends to the log.
// A client is answered only once its row is committed.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "store/sqlite/connection.hpp"
#include "util/async_reply.hpp"

namespace castera::sqlite {

class Writer {
public:
    explicit Writer(std::string path);
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    // Finishes the writes already handed over, then stops the thread.
    ~Writer();

    // Where a write may run: `caller_if_idle` for the short writes of one request; a long one
    // (many rows) asks for `writer_thread`, so that it never holds the caller's event loop.
    enum class Where { caller_if_idle, writer_thread };

    // Runs `work(connection)` in the next commit and resumes the caller (always through its
    // executor, never from inside this call) with its result, or with the exception that it
    // (or the commit) threw. Not a coroutine: `work` moves straight into the job and never
    // lives in a coroutine frame.
    template <typename Fn>
    boost::asio::awaitable<std::invoke_result_t<Fn&, Connection&>> run(Fn work, Where where = Where::caller_if_idle);

    // One write as the writer thread sees it.
    struct JobBase {
        virtual ~JobBase() = default;
        // Runs the write; an exception stays with the job.
        virtual void execute(Connection& db) = 0;
        virtual bool failed() const = 0;
        // Resumes the caller, with the commit's failure if there was one.
        virtual void finish(std::exception_ptr commit_failure) = 0;
    };

private:
    template <typename Fn>
    struct TypedJob;

    void submit(std::unique_ptr<JobBase> job, Where where);
    // Takes the connection when nobody uses it and nothing (a write, a checkpoint) waits for
    // the thread.
    bool claim_if_idle();
    // Gives the connection back after a write on the caller's thread.
    void release_from_caller();
    // Runs the job now, on this thread; hands it back when another process holds the write lock.
    std::unique_ptr<JobBase> write_here(std::unique_ptr<JobBase> job);

    void thread_main();
    // Waits for writes or a checkpoint due and takes the connection; false when stopping with
    // nothing left to do.
    bool next_batch(std::deque<std::unique_ptr<JobBase>>& batch);
    // Runs a batch in one transaction; the failure that undid all of it, if any.
    std::exception_ptr write_batch(std::deque<std::unique_ptr<JobBase>>& batch);
    Connection& connection();
    void checkpoint_if_due();

    std::string path_;
    std::optional<Connection> db_;  // used by whoever holds it (in_use_)
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::unique_ptr<JobBase>> queue_;
    bool in_use_ = false;           // the connection is taken, by the thread or a caller
    bool checkpoint_due_ = false;   // the log grew long in a caller's commit
    bool stopping_ = false;
    std::thread thread_;  // last: it starts once everything above exists
};

template <typename Fn>
struct Writer::TypedJob final : Writer::JobBase {
    using Result = std::invoke_result_t<Fn&, Connection&>;

    TypedJob(Fn w, Reply<Result> r) : work(std::move(w)), reply(std::move(r)) {}

    void execute(Connection& db) override {
        try {
            if constexpr (std::is_void_v<Result>) work(db);
            else result.emplace(work(db));
        } catch (...) {
            failure = std::current_exception();
        }
    }

    bool failed() const override { return failure != nullptr; }

    void finish(std::exception_ptr commit_failure) override {
        if (!failure) failure = commit_failure;
        if (failure) reply.fail(failure);
        else if constexpr (std::is_void_v<Result>) reply();
        else reply(std::move(*result));
    }

    Fn work;
    Reply<Result> reply;
    std::conditional_t<std::is_void_v<Result>, bool, std::optional<Result>> result{};
    std::exception_ptr failure;
};

template <typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn&, Connection&>> Writer::run(Fn work, Where where) {
    using Result = std::invoke_result_t<Fn&, Connection&>;
    return await_reply<Result>([this, where, work = std::move(work)](Reply<Result> reply) mutable {
        submit(std::make_unique<TypedJob<Fn>>(std::move(work), std::move(reply)), where);
    });
}

}  // namespace castera::sqlite
