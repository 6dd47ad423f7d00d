// The one way castera runs work somewhere else (a thread pool, the SQLite writer's thread, the
// Redis bus's loop) and resumes the waiting coroutine on its own event loop afterwards.
//
// `await_reply<T>(start)` calls `start(reply)` at once, on the caller's thread; whoever holds
// the Reply answers it once, from any thread, with a value or an exception. The coroutine is
// always resumed through its own executor (never from inside the answering call), with the
// value, or with the exception rethrown. Answers after the first are ignored; a Reply whose
// every copy is dropped unanswered resumes the coroutine with ReplyAbandoned instead of leaving
// it suspended for ever.
//
// Not a coroutine (docs/DESIGN.md, "Coroutine rules"): `start` and everything it captures move
// straight into the operation and never live in a coroutine frame.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace castera {

// The work was dropped without an answer (a pool or loop shut down under it).
struct ReplyAbandoned : std::runtime_error {
    ReplyAbandoned() : std::runtime_error("the work was dropped before it answered") {}
};

namespace detail {

// What a reply carries back: a value (nothing for void) or an exception.
template <typename T>
struct ReplyValue {
    using type = T;
};
template <>
struct ReplyValue<void> {
    struct type {};
};

// Asio's use_awaitable rethrows a non-null exception_ptr given as the first argument.
template <typename T>
struct SignatureOf {
    using type = void(std::exception_ptr, T);
};
template <>
struct SignatureOf<void> {
    using type = void(std::exception_ptr);
};
template <typename T>
using Signature = typename SignatureOf<T>::type;

template <typename T>
class ReplyState {
public:
    using Value = typename ReplyValue<T>::type;
    using Handler = boost::asio::any_completion_handler<Signature<T>>;

    ReplyState(boost::asio::any_io_executor executor, Handler handler)
        : executor_(std::move(executor)), handler_(std::move(handler)) {}

    // The last copy of a Reply went away: answer with ReplyAbandoned if nobody answered.
    ~ReplyState() {
        if (!answered_.load()) answer(std::make_exception_ptr(ReplyAbandoned{}), Value{});
    }

    void answer(std::exception_ptr failure, Value value) {
        if (answered_.exchange(true)) return;
        auto guard = std::move(guard_);
        boost::asio::post(guard.get_executor(), [handler = std::move(handler_), failure = std::move(failure),
                                                 value = std::move(value)]() mutable {
            if constexpr (std::is_void_v<T>) std::move(handler)(failure);
            else std::move(handler)(failure, std::move(value));
        });
    }

private:
    boost::asio::any_io_executor executor_;
    // Keeps the awaiting coroutine's loop alive until the answer is posted to it.
    boost::asio::executor_work_guard<boost::asio::any_io_executor> guard_{executor_};
    Handler handler_;
    std::atomic<bool> answered_{false};
};

}  // namespace detail

template <typename T>
class Reply {
public:
    using Value = typename detail::ReplyValue<T>::type;

    explicit Reply(std::shared_ptr<detail::ReplyState<T>> state) : state_(std::move(state)) {}

    // Answers with a value (callable with no argument for Reply<void>).
    template <typename... Args>
    void operator()(Args&&... args) const {
        state_->answer(nullptr, Value{std::forward<Args>(args)...});
    }
    void fail(std::exception_ptr failure) const { state_->answer(std::move(failure), Value{}); }

    // Runs `work()` here and answers with its result, or with the exception it threw.
    template <typename Fn>
    void run(Fn&& work) const noexcept {
        try {
            if constexpr (std::is_void_v<T>) {
                std::forward<Fn>(work)();
                (*this)();
            } else {
                (*this)(std::forward<Fn>(work)());
            }
        } catch (...) {
            fail(std::current_exception());
        }
    }

private:
    std::shared_ptr<detail::ReplyState<T>> state_;
};

template <typename T, typename Start>
boost::asio::awaitable<T> await_reply(Start start) {
    auto initiate = [](auto handler, Start start) {
        boost::asio::any_io_executor executor = boost::asio::get_associated_executor(handler);
        auto state = std::make_shared<detail::ReplyState<T>>(std::move(executor), std::move(handler));
        std::move(start)(Reply<T>(std::move(state)));
    };
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, detail::Signature<T>>(
        std::move(initiate), boost::asio::use_awaitable, std::move(start));
}

// Runs `fn()` on `pool` (any executor or execution context) and resumes the caller on its own
// loop with the result, or the exception `fn` threw.
template <typename Fn, typename Where>
boost::asio::awaitable<std::invoke_result_t<Fn&>> run_elsewhere(Where& where, Fn fn) {
    using Result = std::invoke_result_t<Fn&>;
    return await_reply<Result>([&where, fn = std::move(fn)](Reply<Result> reply) mutable {
        boost::asio::post(where, [fn = std::move(fn), reply = std::move(reply)]() mutable { reply.run(fn); });
    });
}

}  // namespace castera
