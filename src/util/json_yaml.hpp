// JSON as YAML (1.2): the same data, block style, for readers who prefer it (/api/schema/'s
// ?format=yaml). Every string, key or value, is written double-quoted with JSON's escapes,
// which YAML 1.2 reads as they are: no string can turn into a number, a boolean or a comment.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace castera {

std::string json_to_yaml(const boost::json::value& value);

}  // namespace castera
