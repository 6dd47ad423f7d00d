#include "store/postgres/connection.hpp"

#include <poll.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>

#include "util/time.hpp"

namespace castera::postgres {
namespace {

namespace asio = boost::asio;

enum class Direction { read, write };

// SQLSTATE unique_violation.
constexpr std::string_view kUniqueViolation = "23505";
// SQLSTATE class 53, insufficient resources: disk_full.
constexpr std::string_view kDiskFull = "53100";

// Asio's reactor is edge-triggered: readiness that arrived before a wait started would not wake
// it. Asking the kernel first covers bytes libpq left unread in the socket.
bool ready_now(int fd, Direction direction) {
    pollfd entry{fd, static_cast<short>(direction == Direction::read ? POLLIN : POLLOUT), 0};
    return ::poll(&entry, 1, 0) > 0;
}

// The socket as the loop sees it during one wait. libpq owns the descriptor, so it is released,
// never closed, and released before the wait's coroutine goes on (libpq may close the fd next).
struct SocketWatch {
    SocketWatch(const asio::any_io_executor& executor, int fd) : socket(executor, fd) {}
    ~SocketWatch() { release(); }
    void release() {
        if (socket.is_open()) socket.release();
    }
    asio::posix::stream_descriptor socket;
    bool timed_out = false;
};

// Releases the watch when the waiting coroutine leaves, even when its frame is destroyed
// while suspended (the loop shutting down).
struct ReleaseOnExit {
    std::shared_ptr<SocketWatch> watch;
    ~ReleaseOnExit() { watch->release(); }
};

// Waits until libpq's socket is ready; false when `timeout` passed first.
Task<bool> wait_socket(int fd, Direction direction, std::chrono::steady_clock::duration timeout) {
    if (ready_now(fd, direction)) co_return true;
    auto executor = co_await asio::this_coro::executor;
    auto watch = std::make_shared<SocketWatch>(executor, fd);
    ReleaseOnExit release{watch};
    asio::steady_timer timer(executor, timeout);
    // The timer's handler may run after this coroutine moved on: it shares the watch, and
    // cancelling a released descriptor is harmless.
    timer.async_wait([watch](boost::system::error_code ec) {
        if (ec) return;
        watch->timed_out = true;
        boost::system::error_code ignored;
        watch->socket.cancel(ignored);
    });
    auto kind = direction == Direction::read ? asio::posix::descriptor_base::wait_read
                                             : asio::posix::descriptor_base::wait_write;
    // An error on the socket itself is left for libpq to find and report.
    (void)co_await watch->socket.async_wait(kind, asio::as_tuple(asio::use_awaitable));
    timer.cancel();
    watch->release();
    co_return !watch->timed_out;
}

}  // namespace

// The connected socket, registered with the loop once. libpq owns the descriptor: it is
// released, never closed. The timer bounds each command.
struct Watch {
    Watch(const asio::any_io_executor& executor, int fd) : socket(executor, fd), timer(executor) {}
    ~Watch() {
        boost::system::error_code ignored;
        timer.cancel();
        if (socket.is_open()) socket.release();
    }
    asio::posix::stream_descriptor socket;
    asio::steady_timer timer;
    // Which wait the timer is for: a timer that fired just as its wait finished must not
    // cancel the next one.
    std::uint64_t wait_number = 0;
    bool timed_out = false;
};

namespace {

std::int64_t parse_integer(const char* text, std::size_t length) {
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(text, text + length, value);
    if (error != std::errc{} || end != text + length)
        throw StoreUnavailable("unreadable integer from the database: " + std::string(text, length));
    return value;
}

bool succeeded(const PGresult* raw) {
    ExecStatusType status = PQresultStatus(raw);
    return status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
}

}  // namespace

std::string one_line(const char* message) {
    std::string text;
    for (const char* c = message ? message : ""; *c; ++c) {
        if (*c == '\n' || *c == '\t') {
            if (!text.empty() && text.back() != ' ') text += ' ';
        } else {
            text += *c;
        }
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
}

// ---- Params

Params& Params::add(std::int64_t value) {
    values_.emplace_back(std::to_string(value));
    return *this;
}

Params& Params::add(bool value) {
    values_.emplace_back(value ? "true" : "false");
    return *this;
}

namespace {

// PostgreSQL text cannot hold NUL, and a text parameter would silently end at the first one:
// refuse rather than store a cut value.
void check_no_nul(const std::string& value) {
    if (value.find('\0') != std::string::npos)
        throw StoreUnavailable("PostgreSQL cannot store text that contains a NUL character");
}

}  // namespace

Params& Params::add(std::string value) {
    check_no_nul(value);
    values_.emplace_back(std::move(value));
    return *this;
}

Params& Params::add(std::optional<std::string> value) {
    if (value) check_no_nul(*value);
    values_.push_back(std::move(value));
    return *this;
}

// The session runs in UTC; the explicit offset keeps the value right whatever it runs in.
Params& Params::add(TimePoint value) {
    values_.emplace_back(format_db(value) + "+00");
    return *this;
}

Params& Params::add(std::optional<TimePoint> value) {
    if (value) return add(*value);
    values_.emplace_back(std::nullopt);
    return *this;
}

Params& Params::add(std::optional<bool> value) {
    if (value) return add(*value);
    values_.emplace_back(std::nullopt);
    return *this;
}

Params& Params::add(std::optional<std::int64_t> value) {
    if (value) return add(*value);
    values_.emplace_back(std::nullopt);
    return *this;
}

std::vector<const char*> Params::pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (const auto& value : values_) out.push_back(value ? value->c_str() : nullptr);
    return out;
}

// ---- Result

std::string Result::text(int row, int column) const {
    return std::string(PQgetvalue(result_.get(), row, column),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::optional<std::string> Result::optional_text(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return text(row, column);
}

std::int64_t Result::integer(int row, int column) const {
    return parse_integer(PQgetvalue(result_.get(), row, column),
                         static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

bool Result::boolean(int row, int column) const { return PQgetvalue(result_.get(), row, column)[0] == 't'; }

TimePoint Result::time(int row, int column) const {
    std::string stored = text(row, column);
    auto parsed = parse_db(stored);
    if (!parsed) throw StoreUnavailable("unreadable datetime in the database: " + stored);
    return *parsed;
}

std::optional<TimePoint> Result::optional_time(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return time(row, column);
}

std::int64_t Result::affected() const {
    const char* count = PQcmdTuples(result_.get());
    std::size_t length = std::char_traits<char>::length(count);
    return length == 0 ? 0 : parse_integer(count, length);
}

// ---- Connection

Task<std::unique_ptr<Connection>> Connection::open(std::string conninfo) {
    // The URL is expanded by libpq (postgresql:// and postgres:// alike).
    const char* keywords[] = {"dbname", "fallback_application_name", nullptr};
    const char* values[] = {conninfo.c_str(), "castera", nullptr};
    PGconn* raw = PQconnectStartParams(keywords, values, /*expand_dbname=*/1);
    if (!raw) throw StoreUnavailable("PostgreSQL: out of memory opening a connection");
    std::unique_ptr<Connection> connection(new Connection(raw));
    co_await connection->finish_connecting();
    co_return connection;
}

Connection::~Connection() {
    watch_.reset();  // released before libpq closes the descriptor
    PQfinish(conn_);
}

void Connection::fail(std::string_view what, const std::string& message) {
    if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
    throw StoreUnavailable("PostgreSQL: " + std::string(what) + ": " + message);
}

void Connection::give_up(std::string_view what, const std::string& message) {
    broken_ = true;
    throw StoreUnavailable("PostgreSQL: " + std::string(what) + ": " + message);
}

Task<void> Connection::wait(bool for_reading, std::chrono::steady_clock::duration timeout, std::string_view what) {
    int fd = PQsocket(conn_);
    if (fd < 0) give_up(what, "the connection has no socket");
    bool ready = co_await wait_socket(fd, for_reading ? Direction::read : Direction::write, timeout);
    if (!ready) give_up(what, "no answer from the server in time");
}

Task<void> Connection::wait_connected(bool for_reading, std::string_view what) {
    Direction direction = for_reading ? Direction::read : Direction::write;
    // Asio's reactor is edge-triggered: readiness that came before the wait would not wake it.
    if (ready_now(PQsocket(conn_), direction)) co_return;
    auto remaining = deadline_ - std::chrono::steady_clock::now();
    if (remaining <= std::chrono::steady_clock::duration::zero()) give_up(what, "no answer from the server in time");
    auto executor = co_await asio::this_coro::executor;
    // Away from a home loop, the io_context may be gone by the next call: nothing may stay
    // registered with it.
    if (!home_ || executor != *home_) {
        co_await wait(for_reading, remaining, what);
        co_return;
    }
    if (!watch_) {
        int fd = PQsocket(conn_);
        if (fd < 0) give_up(what, "the connection has no socket");
        watch_ = std::make_shared<Watch>(executor, fd);
    }
    std::shared_ptr<Watch> watch = watch_;
    std::uint64_t number = ++watch->wait_number;
    watch->timed_out = false;
    watch->timer.expires_after(remaining);
    // The handler may run after this wait (or the connection) is gone: it holds the watch
    // weakly and acts only for its own wait.
    watch->timer.async_wait([weak = std::weak_ptr<Watch>(watch), number](boost::system::error_code ec) {
        auto alive = weak.lock();
        if (ec || !alive || alive->wait_number != number) return;
        alive->timed_out = true;
        boost::system::error_code ignored;
        alive->socket.cancel(ignored);
    });
    auto kind = for_reading ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write;
    // An error on the socket itself is left for libpq to find and report.
    (void)co_await watch->socket.async_wait(kind, asio::as_tuple(asio::use_awaitable));
    watch->timer.cancel();
    if (watch->timed_out) give_up(what, "no answer from the server in time");
}

Task<void> Connection::finish_connecting() {
    if (PQstatus(conn_) == CONNECTION_BAD) give_up("connecting", one_line(PQerrorMessage(conn_)));
    // libpq's protocol: act as if the last poll asked for writing.
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    auto deadline = std::chrono::steady_clock::now() + kConnectTimeout;
    while (poll != PGRES_POLLING_OK) {
        if (poll == PGRES_POLLING_FAILED) give_up("connecting", one_line(PQerrorMessage(conn_)));
        co_await wait(poll == PGRES_POLLING_READING, deadline - std::chrono::steady_clock::now(), "connecting");
        poll = PQconnectPoll(conn_);
    }
    if (PQsetnonblocking(conn_, 1) != 0) give_up("connecting", one_line(PQerrorMessage(conn_)));
    // Timestamps are read back as text: in UTC they end in "+00", which parse_db reads.
    deadline_ = std::chrono::steady_clock::now() + kQueryTimeout;
    if (!PQsendQuery(conn_, "SET TimeZone TO 'UTC'; SET client_encoding TO 'UTF8'"))
        give_up("setting the session up", one_line(PQerrorMessage(conn_)));
    co_await flush("setting the session up");
    Result result = co_await read_result("setting the session up");
    check(result, "setting the session up");
    if (!PQenterPipelineMode(conn_)) give_up("entering pipeline mode", one_line(PQerrorMessage(conn_)));
}

Task<void> Connection::flush(std::string_view what) {
    for (;;) {
        int pending = PQflush(conn_);
        if (pending == 0) co_return;
        if (pending < 0) give_up(what, one_line(PQerrorMessage(conn_)));
        co_await wait_connected(/*for_reading=*/false, what);
    }
}

Task<Result> Connection::read_result(std::string_view what) {
    std::optional<Result> outcome;
    for (;;) {
        while (PQisBusy(conn_)) {
            co_await wait_connected(/*for_reading=*/true, what);
            if (!PQconsumeInput(conn_)) give_up(what, one_line(PQerrorMessage(conn_)));
        }
        PGresult* raw = PQgetResult(conn_);
        if (!raw) break;
        Result result(raw);
        // The first failure is the one to report; otherwise the last result holds the rows.
        if (!outcome || succeeded(outcome->raw())) outcome.emplace(std::move(result));
    }
    if (!outcome) give_up(what, "the server sent no result");
    co_return std::move(*outcome);
}

void Connection::check(const Result& result, std::string_view what) {
    if (succeeded(result.raw())) return;
    std::string message = one_line(PQresultErrorMessage(result.raw()));
    const char* state = PQresultErrorField(result.raw(), PG_DIAG_SQLSTATE);
    if (state && kUniqueViolation == state) throw StoreConflict("PostgreSQL: " + message);
    if (state && kDiskFull == state) throw StoreFull("PostgreSQL: " + message);
    fail(what, message.empty() ? one_line(PQerrorMessage(conn_)) : message);
}

// ---- the pipeline

// A statement on its way, in the frame of the coroutine that waits for it.
struct Connection::Pending {
    Pending(const Statement& statement, const Params& params, bool alone, const asio::any_io_executor& executor)
        : statement(statement), params(params), alone(alone), wake(executor, asio::steady_timer::time_point::max()) {}

    const Statement& statement;
    const Params& params;
    bool alone;  // sent in a segment of its own (writes, and reads sent again)
    bool continues = false;  // another statement of its transaction follows in the same segment
    std::optional<Result> result;  // the first failure, else the last result
    std::string failure;           // set when the connection failed under it
    bool sent = false;
    bool done = false;
    bool skipped = false;  // the server skipped it: another read of its segment failed first
    asio::steady_timer wake;  // cancelled to wake the coroutine
};

// Takes a statement out of the connection's books when its coroutine ends early (a loop
// shutting down destroys suspended coroutines): nothing may point into a destroyed frame.
struct Connection::Forget {
    // Spelled out: clang 14 cannot make an aggregate from parentheses (std::make_unique).
    Forget(Connection& c, Pending& p) : connection(c), pending(p) {}
    Connection& connection;
    Pending& pending;
    bool scheduled_send = false;
    ~Forget() {
        if (scheduled_send) connection.send_scheduled_ = false;
        if (pending.done) return;
        std::erase(connection.unsent_, &pending);
        for (Expected& expected : connection.in_flight_)
            if (expected.pending == &pending) expected.pending = nullptr;
    }
};

Task<Result> Connection::run(const Statement& statement, const Params& params) {
    auto executor = co_await asio::this_coro::executor;
    // A read skipped because another read of its segment failed is sent again, alone.
    for (bool alone = !statement.only_reads();; alone = true) {
        if (broken_) throw StoreUnavailable(why_broken());
        Pending pending(statement, params, alone, executor);
        Forget forget{*this, pending};
        unsent_.push_back(&pending);
        if (!send_scheduled_) {
            // The other coroutines this turn of the loop runs add theirs meanwhile: one write.
            send_scheduled_ = forget.scheduled_send = true;
            co_await asio::post(executor, asio::use_awaitable);
            send_scheduled_ = forget.scheduled_send = false;
            send_queued();
            co_await write_out();
        }
        co_await await_answer(pending);
        if (!pending.failure.empty()) throw StoreUnavailable(pending.failure);
        if (pending.skipped) {
            if (!alone) continue;
            throw StoreUnavailable("PostgreSQL: " + statement.name + ": skipped, another statement failed");
        }
        if (!pending.result) throw StoreUnavailable("PostgreSQL: " + statement.name + ": the server sent no result");
        check(*pending.result, statement.name);
        co_return std::move(*pending.result);
    }
}

Task<std::vector<Result>> Connection::run_transaction(const std::vector<Step>& steps) {
    auto executor = co_await asio::this_coro::executor;
    if (broken_) throw StoreUnavailable(why_broken());
    // Queued together, with nothing between them: they leave in one segment.
    std::vector<std::unique_ptr<Pending>> pendings;
    std::vector<std::unique_ptr<Forget>> forgets;
    pendings.reserve(steps.size());
    forgets.reserve(steps.size());
    for (const Step& step : steps) {
        pendings.push_back(std::make_unique<Pending>(*step.statement, *step.params, true, executor));
        pendings.back()->continues = pendings.size() < steps.size();
        forgets.push_back(std::make_unique<Forget>(*this, *pendings.back()));
        unsent_.push_back(pendings.back().get());
    }
    if (!send_scheduled_ && !pendings.empty()) {
        send_scheduled_ = forgets.front()->scheduled_send = true;
        co_await asio::post(executor, asio::use_awaitable);
        send_scheduled_ = forgets.front()->scheduled_send = false;
        send_queued();
        co_await write_out();
    }
    for (auto& pending : pendings) co_await await_answer(*pending);
    std::vector<Result> results;
    results.reserve(pendings.size());
    // The first statement that failed says why; those after it were skipped by the server.
    for (auto& pending : pendings) {
        if (!pending->failure.empty()) throw StoreUnavailable(pending->failure);
        if (!pending->result) {
            if (pending->skipped) continue;
            throw StoreUnavailable("PostgreSQL: " + pending->statement.name + ": the server sent no result");
        }
        check(*pending->result, pending->statement.name);
        results.push_back(std::move(*pending->result));
    }
    if (results.size() != pendings.size())
        throw StoreUnavailable("PostgreSQL: a transaction's statements were skipped");
    co_return results;
}

bool Connection::send_sync(std::chrono::steady_clock::time_point now) {
    if (!PQpipelineSync(conn_)) {
        fail_everything("PostgreSQL: " + one_line(PQerrorMessage(conn_)));
        return false;
    }
    in_flight_.push_back(Expected{Expected::Kind::sync, nullptr, {}, false, now});
    return true;
}

bool Connection::send_statement(Pending& pending, std::chrono::steady_clock::time_point now) {
    const Statement& statement = pending.statement;
    if (!prepared_.contains(statement.name)) {
        if (!PQsendPrepare(conn_, statement.name.c_str(), statement.sql.c_str(), pending.params.size(), nullptr)) {
            fail_everything("PostgreSQL: " + one_line(PQerrorMessage(conn_)));
            return false;
        }
        prepared_.insert(statement.name);
        in_flight_.push_back(Expected{Expected::Kind::prepare, nullptr, statement.name, false, now});
    }
    std::vector<const char*> values = pending.params.pointers();
    if (!PQsendQueryPrepared(conn_, statement.name.c_str(), pending.params.size(), values.data(), nullptr, nullptr,
                             /*resultFormat=*/0)) {
        fail_everything("PostgreSQL: " + one_line(PQerrorMessage(conn_)));
        return false;
    }
    in_flight_.push_back(Expected{Expected::Kind::query, &pending, {}, false, now});
    pending.sent = true;
    return true;
}

// On a failure fail_everything() fails what is still queued too, and empties the queue.
void Connection::send_queued() {
    if (broken_) return fail_everything(why_broken());
    auto now = std::chrono::steady_clock::now();
    bool segment_open = false;  // statements were sent since the last sync
    bool in_transaction = false;  // the last one sent is followed by another of its transaction
    for (Pending* pending : unsent_) {
        if (pending->alone && segment_open && !in_transaction && !send_sync(now)) return;
        if (!send_statement(*pending, now)) return;
        in_transaction = pending->continues;
        segment_open = !pending->alone || pending->continues;
        if (pending->alone && !pending->continues && !send_sync(now)) return;
    }
    unsent_.clear();
    if (segment_open) send_sync(now);
}

Task<void> Connection::write_out() {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer pause(executor);
    while (!broken_) {
        int pending = PQflush(conn_);
        if (pending == 0) co_return;
        if (pending < 0) co_return fail_everything("PostgreSQL: " + one_line(PQerrorMessage(conn_)));
        if (!in_flight_.empty() && std::chrono::steady_clock::now() > in_flight_.front().sent_at + kQueryTimeout)
            co_return fail_everything("PostgreSQL: no answer from the server in time");
        pause.expires_after(std::chrono::milliseconds(1));
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

Task<void> Connection::await_answer(Pending& pending) {
    while (!pending.done) {
        if (!driving_ && pending.sent) {
            co_await drive(pending);
            continue;
        }
        co_await pending.wake.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

Task<void> Connection::drive(Pending& mine) {
    driving_ = true;
    // Also when this coroutine is destroyed half-way: somebody else must read on.
    struct Release {
        Connection& connection;
        ~Release() {
            connection.driving_ = false;
            connection.hand_over_driving();
        }
    } release{*this};
    while (!mine.done) {
        if (PQflush(conn_) < 0) co_return fail_everything("PostgreSQL: " + one_line(PQerrorMessage(conn_)));
        take_answers();
        if (mine.done || in_flight_.empty()) co_return;
        deadline_ = in_flight_.front().sent_at + kQueryTimeout;
        std::string failure;
        try {
            co_await wait_connected(/*for_reading=*/true, "waiting for answers");
        } catch (const StoreUnavailable& error) {
            failure = error.what();
        }
        if (!failure.empty()) co_return fail_everything(failure);
        if (!PQconsumeInput(conn_)) co_return fail_everything("PostgreSQL: " + one_line(PQerrorMessage(conn_)));
    }
}

// libpq gives each statement's results followed by a NULL, and a sync as one result of its
// own; a failed statement turns the rest of its segment into "aborted" results.
void Connection::take_answers() {
    while (!in_flight_.empty()) {
        if (PQisBusy(conn_)) return;
        PGresult* raw = PQgetResult(conn_);
        Expected& next = in_flight_.front();
        if (!raw) {
            if (next.kind == Expected::Kind::sync || !next.answered) return;  // more to read first
            answered(next);
            in_flight_.pop_front();
            continue;
        }
        Result result(raw);
        bool is_sync = PQresultStatus(raw) == PGRES_PIPELINE_SYNC;
        if (is_sync != (next.kind == Expected::Kind::sync))
            return fail_everything("PostgreSQL: its answers are out of step with the statements sent");
        if (is_sync) {
            in_flight_.pop_front();
            continue;
        }
        next.answered = true;
        if (next.kind == Expected::Kind::prepare) {
            if (succeeded(raw)) continue;
            prepared_.erase(next.statement);  // prepared again next time
            // The statement right behind it is the one it was for: that is its answer.
            Pending* owner = in_flight_.size() > 1 ? in_flight_[1].pending : nullptr;
            if (owner && PQresultStatus(raw) != PGRES_PIPELINE_ABORTED) owner->result.emplace(std::move(result));
            continue;
        }
        if (!next.pending) continue;  // its coroutine is gone
        Pending& pending = *next.pending;
        if (PQresultStatus(raw) == PGRES_PIPELINE_ABORTED) pending.skipped = !pending.result;
        else if (!pending.result || succeeded(pending.result->raw())) pending.result.emplace(std::move(result));
    }
}

void Connection::answered(Expected& expected) {
    if (expected.kind != Expected::Kind::query || !expected.pending) return;
    expected.pending->done = true;
    expected.pending->wake.cancel();
}

void Connection::hand_over_driving() {
    for (Expected& expected : in_flight_) {
        if (expected.kind == Expected::Kind::query && expected.pending && !expected.pending->done) {
            expected.pending->wake.cancel();
            return;
        }
    }
}

void Connection::fail_everything(const std::string& message) {
    broken_ = true;
    if (broken_because_.empty()) broken_because_ = message;
    auto fail = [&](Pending* pending) {
        if (!pending || pending->done) return;
        pending->failure = message;
        pending->done = true;
        pending->wake.cancel();
    };
    for (Pending* pending : std::exchange(unsent_, {})) fail(pending);
    for (Expected& expected : std::exchange(in_flight_, {})) fail(expected.pending);
}

std::string Connection::why_broken() const {
    return broken_because_.empty() ? "PostgreSQL: the connection was lost" : broken_because_;
}

bool Connection::usable() const { return !broken_ && PQstatus(conn_) == CONNECTION_OK; }

bool Connection::still_open() {
    if (!usable()) return false;
    if (outstanding() > 0) return true;  // its reader will notice
    // An idle connection has nothing to read unless the server said goodbye (a restart, an
    // administrator's kill): read it now rather than fail the next request with it.
    int fd = PQsocket(conn_);
    if (fd < 0) return false;
    // A server that shut down sends its farewell and then closes: the first read takes the
    // message, a later one meets the end of the stream. A notice alone leaves nothing to read.
    for (int reads = 0; reads < 4 && ready_now(fd, Direction::read); ++reads) {
        bool read = PQconsumeInput(conn_) != 0;
        // Parsing what arrived is what turns a farewell into a bad connection status.
        if (read) PQisBusy(conn_);
        if (!read || PQstatus(conn_) != CONNECTION_OK) {
            broken_ = true;
            return false;
        }
    }
    return true;
}

}  // namespace castera::postgres
