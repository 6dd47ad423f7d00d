// Running a slow, blocking computation (PBKDF2) on a thread pool and resuming the calling
// coroutine on its own event loop with the result.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>
#include <utility>

namespace castera {

// The computation and its result cross threads by value; no coroutine frame is created on the
// pool, so nothing allocated by one thread's recycling allocator is freed by another.
template <typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn&>> offload(boost::asio::thread_pool& pool, Fn fn) {
    using Result = std::invoke_result_t<Fn&>;
    auto initiate = [&pool](auto handler, Fn work) {
        auto guard = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
        boost::asio::post(pool, [handler = std::move(handler), work = std::move(work),
                                 guard = std::move(guard)]() mutable {
            Result result = work();
            auto home = guard.get_executor();
            boost::asio::post(home, [handler = std::move(handler), result = std::move(result)]() mutable {
                std::move(handler)(std::move(result));
            });
        });
    };
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(Result)>(
        std::move(initiate), boost::asio::use_awaitable, std::move(fn));
}

}  // namespace castera
