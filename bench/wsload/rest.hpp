// The little of castera's REST API the load tool needs: meetings to hold its rooms.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <string>
#include <vector>

namespace wsload {

// Creates `count` meetings through POST /api/meetings/ (a few keep-alive connections in
// parallel) and returns their room ids. Throws on any answer but 201.
std::vector<std::string> create_rooms(const boost::asio::ip::tcp::endpoint& api, const std::string& token,
                                      std::size_t count);

}  // namespace wsload
