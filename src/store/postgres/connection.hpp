// One PostgreSQL connection driven by the calling coroutine's event loop: libpq's
// non-blocking calls, with the socket watched by Asio while the server works, so that a query
// never blocks a loop thread. Statements are prepared once per connection, by name.
#pragma once

#include <libpq-fe.h>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
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

// A statement known by name: prepared on a connection the first time it runs there.
struct Statement {
    std::string name;
    std::string sql;
};

struct Watch;

class Connection {
public:
    // Connects without blocking (PQconnectStart/PQconnectPoll) and sets the session up
    // (UTC, UTF-8). Throws StoreUnavailable when the server cannot be reached.
    static Task<std::unique_ptr<Connection>> open(std::string conninfo);

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // Runs a prepared statement. Throws StoreConflict on a unique violation, StoreUnavailable
    // on any other failure; a failure of the connection itself also marks it broken.
    Task<Result> run(const Statement& statement, const Params& params);

    // False once the connection failed, or when a query on it was abandoned half-way; the
    // pool then drops it and opens another.
    bool usable() const;
    // usable(), and also reads an idle connection to notice that the server closed it
    // meanwhile (a restart, an administrator's kill): one poll, so asked when lending it out.
    bool still_open();

    // This connection is used on this loop only: its socket may stay registered there.
    void settle_on(const boost::asio::any_io_executor& loop) { home_ = loop; }

private:
    explicit Connection(PGconn* conn) : conn_(conn) {}

    Task<void> finish_connecting();
    // While connecting: libpq may move to another socket between polls, so each wait watches
    // the socket of the moment.
    Task<void> wait(bool for_reading, std::chrono::steady_clock::duration timeout, std::string_view what);
    // Once connected: on its home loop the socket stays registered, so a wait costs no
    // registration; elsewhere each wait registers it anew. `deadline_` bounds the command.
    Task<void> wait_connected(bool for_reading, std::string_view what);
    Task<void> flush(std::string_view what);
    // Collects every result of the command in flight; the connection is idle again after it.
    Task<Result> read_result(std::string_view what);
    Task<void> prepare(const Statement& statement, int parameter_count);
    // Throws the store error a failed result stands for.
    void check(const Result& result, std::string_view what);
    // A failed command: the connection stays unless libpq says it is gone.
    [[noreturn]] void fail(std::string_view what, const std::string& message);
    // A failed connection: it is never used again.
    [[noreturn]] void give_up(std::string_view what, const std::string& message);

    PGconn* conn_;
    // The connected socket as the loop sees it; made on first use, on the loop that uses it.
    std::shared_ptr<Watch> watch_;
    std::optional<boost::asio::any_io_executor> home_;
    std::chrono::steady_clock::time_point deadline_;
    bool broken_ = false;
    bool busy_ = false;  // a command was sent and its results are not all read yet
    std::unordered_set<std::string> prepared_;
};

// libpq's message (several lines, a trailing newline) as one log line.
std::string one_line(const char* message);

// How long one wait on the server may take before the connection is given up as broken.
inline constexpr std::chrono::seconds kConnectTimeout{10};
inline constexpr std::chrono::seconds kQueryTimeout{30};

}  // namespace castera::postgres
