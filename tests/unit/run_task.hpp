// Runs one coroutine to completion on a private io_context, for tests.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <optional>
#include <type_traits>

#include "store/store.hpp"

namespace castera::testing {

template <typename T>
T run_task(Task<T> task) {
    boost::asio::io_context io;
    if constexpr (std::is_void_v<T> || std::is_default_constructible_v<T>) {
        auto result = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
        io.run();
        return result.get();
    } else {
        // A future wants a result it can default-construct (an Outcome has none): an optional.
        auto wrapped = [](Task<T> inner) -> Task<std::optional<T>> { co_return co_await std::move(inner); };
        auto result = boost::asio::co_spawn(io, wrapped(std::move(task)), boost::asio::use_future);
        io.run();
        return std::move(*result.get());
    }
}

}  // namespace castera::testing
