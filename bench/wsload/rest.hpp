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

// Posts `count` chat messages to the meeting of `room` (POST /api/meetings/<id>/messages/).
void post_messages(const boost::asio::ip::tcp::endpoint& api, const std::string& token, const std::string& room,
                   std::size_t count);

}  // namespace wsload
