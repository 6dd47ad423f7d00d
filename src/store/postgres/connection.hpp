// One PostgreSQL connection driven by the calling coroutine's event loop: libpq's
// non-blocking calls in pipeline mode, with the socket watched by Asio while the server works,
// so that a query never blocks a loop thread. Statements are prepared once per connection, by
// name.
#pragma once

#include <libpq-fe.h>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "store/store.hpp"

namespace castera::postgres {

// Text-format query parameters, $1 first; an empty optional is SQL NULL.
class Params {
public:
    Params& add(std::int64_t value);
    Params& add(bool value);
    Params& add(std::string value);
    Params& add(const char* value) { return add(std::string(value)); }
    Params& add(std::optional<std::string> value);
    Params& add(TimePoint value);
    Params& add(std::optional<TimePoint> value);
    Params& add(std::optional<std::int64_t> value);
    Params& add(std::optional<bool> value);

    int size() const { return static_cast<int>(values_.size()); }
    // Pointers for libpq, valid while this object lives unchanged.
    std::vector<const char*> pointers() const;

private:
    std::vector<std::optional<std::string>> values_;
};

// A finished query's rows, read as text (the session's TimeZone is UTC, see Connection).
class Result {
public:
    explicit Result(PGresult* result) : result_(result, &PQclear) {}

    int rows() const { return PQntuples(result_.get()); }
    int columns() const { return PQnfields(result_.get()); }
    bool empty() const { return rows() == 0; }
    bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
    std::string text(int row, int column) const;
    std::optional<std::string> optional_text(int row, int column) const;
    std::int64_t integer(int row, int column) const;
    bool boolean(int row, int column) const;
    TimePoint time(int row, int column) const;
    std::optional<TimePoint> optional_time(int row, int column) const;
    // Rows changed by an INSERT, UPDATE or DELETE.
    std::int64_t affected() const;
    const PGresult* raw() const { return result_.get(); }

private:
    std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

// A statement known by name: prepared on a connection the first time it runs there. Each says
// whether it writes: a statement that only reads may share a pipeline segment (one implicit
// transaction) with other reads; anything that writes gets a segment of its own (or its
// transaction's), so that no other statement's failure can roll back a write that was already
// answered.
struct Statement {
    enum class Effect { reads, writes };

    Statement(std::string name, std::string sql, Effect effect)
        : name(std::move(name)), sql(std::move(sql)), effect(effect) {}

    std::string name;
    std::string sql;
    Effect effect;

    bool only_reads() const { return effect == Effect::reads; }
};

// One statement of a transaction, with its parameters.
struct Step {
    const Statement* statement;
    const Params* params;
};

struct Watch;

// One connection in libpq's pipeline mode, shared by every coroutine of its loop that runs a
// statement on it. Statements queued during one turn of the loop go out in one write, their
// answers come back in one read, and each coroutine is woken with its own result: the server
// and castera each make one system call per batch rather than per statement.
//
// Whoever waits for an answer while nobody else reads the socket becomes the reader ("driver")
// of the connection and hands that role on when its own answer has come: nothing runs in the
// background, and the connection works on whatever loop the caller runs on.
class Connection {
public:
    // Connects without blocking (PQconnectStart/PQconnectPoll), sets the session up (UTC,
    // UTF-8) and enters pipeline mode. Throws StoreUnavailable when the server cannot be reached.
    static Task<std::unique_ptr<Connection>> open(std::string conninfo);

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // Runs a prepared statement. Throws StoreConflict on a unique violation, StoreUnavailable
    // on any other failure; a failure of the connection fails every statement in flight on it.
    Task<Result> run(const Statement& statement, const Params& params);

    // Runs the steps in one pipeline segment of their own, so one transaction: all of them or
    // none. Returns their results in order; throws as run() does, for the first that failed.
    Task<std::vector<Result>> run_transaction(const std::vector<Step>& steps);

    // False once the connection failed; the pool then drops it and opens another.
    bool usable() const;
    // usable(), and also reads an idle connection to notice that the server closed it
    // meanwhile (a restart, an administrator's kill): asked before giving it new work.
    bool still_open();
    // Statements queued or sent and not yet answered.
    std::size_t outstanding() const { return unsent_.size() + in_flight_.size(); }

    // This connection is used on this loop only: its socket may stay registered there.
    void settle_on(const boost::asio::any_io_executor& loop) { home_ = loop; }

private:
    struct Pending;
    struct Forget;
    // What the server will answer next, in order.
    struct Expected {
        enum class Kind { prepare, query, sync } kind;
        Pending* pending = nullptr;  // a query's waiting coroutine; null once it is gone
        std::string statement;       // a prepare's statement name
        bool answered = false;       // a result came; the NULL that ends it has not yet
        std::chrono::steady_clock::time_point sent_at;
    };

    explicit Connection(PGconn* conn) : conn_(conn) {}

    Task<void> finish_connecting();
    // While connecting: libpq may move to another socket between polls, so each wait watches
    // the socket of the moment.
    Task<void> wait(bool for_reading, std::chrono::steady_clock::duration timeout, std::string_view what);
    // Once connected: on its home loop the socket stays registered, so a wait costs no
    // registration; elsewhere each wait registers it anew. `deadline_` bounds the wait: it is
    // the oldest statement's in flight.
    Task<void> wait_connected(bool for_reading, std::string_view what);
    Task<void> flush(std::string_view what);
    // Collects every result of the command in flight (while connecting, before the pipeline).
    Task<Result> read_result(std::string_view what);
    // Throws the store error a failed result stands for.
    void check(const Result& result, std::string_view what);
    // A failed command: the connection stays unless libpq says it is gone.
    [[noreturn]] void fail(std::string_view what, const std::string& message);
    // A failed connection: it is never used again.
    [[noreturn]] void give_up(std::string_view what, const std::string& message);

    // Hands every queued statement to libpq, with the syncs that end their segments.
    void send_queued();
    // Each false when the connection failed (and fail_everything() ran).
    bool send_statement(Pending& pending, std::chrono::steady_clock::time_point now);
    bool send_sync(std::chrono::steady_clock::time_point now);
    // Writes what libpq holds. A full socket buffer is rare (megabytes of statements): it is
    // retried every millisecond rather than watched, so only the driver ever waits on the socket.
    Task<void> write_out();
    // Waits until `pending` is answered: as the connection's reader, or woken by the reader.
    Task<void> await_answer(Pending& pending);
    // Reads and hands out answers until `mine` has its own.
    Task<void> drive(Pending& mine);
    // Takes every complete answer libpq holds and gives it to the statement it belongs to.
    void take_answers();
    void answered(Expected& expected);
    // Wakes the first coroutine still waiting so that it reads the socket next.
    void hand_over_driving();
    // The connection failed: every statement queued or in flight fails with `message`.
    void fail_everything(const std::string& message);
    std::string why_broken() const;

    PGconn* conn_;
    // The connected socket as the loop sees it; made on first use, on the loop that uses it.
    std::shared_ptr<Watch> watch_;
    std::optional<boost::asio::any_io_executor> home_;
    std::chrono::steady_clock::time_point deadline_;
    bool broken_ = false;
    std::string broken_because_;  // the first failure's message, when it came from the pipeline
    std::unordered_set<std::string> prepared_;  // prepared, or a prepare is on its way

    std::vector<Pending*> unsent_;       // queued this turn of the loop, not yet handed to libpq
    std::deque<Expected> in_flight_;     // handed to libpq, answers not all taken yet
    bool send_scheduled_ = false;        // a coroutine will send the queue once the loop turns
    bool driving_ = false;               // a coroutine reads the socket for everyone
};

// libpq's message (several lines, a trailing newline) as one log line.
std::string one_line(const char* message);

// How long one wait on the server may take before the connection is given up as broken.
inline constexpr std::chrono::seconds kConnectTimeout{10};
inline constexpr std::chrono::seconds kQueryTimeout{30};

}  // namespace castera::postgres
