// Runs one store coroutine to completion on a private io_context, for tests.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "store/store.hpp"

namespace castera::testing {

template <typename T>
T run_task(Task<T> task) {
    boost::asio::io_context io;
    auto result = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
    io.run();
    return result.get();
}

}  // namespace castera::testing
