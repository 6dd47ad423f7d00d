// The files under web/, compiled into the binary by cmake/embed_files.cmake: one table of
// {path, content type, bytes, ETag}, sorted by path. Paths are relative to web/
// ("app/index.html"). Nothing here knows about HTTP; static_files.hpp serves them.
#pragma once

#include <span>
#include <string_view>

namespace castera::web {

struct EmbeddedFile {
    std::string_view path;          // relative to web/, '/'-separated
    std::string_view content_type;  // from the extension
    std::string_view bytes;
    std::string_view etag;          // a quoted strong validator from the content's SHA-256
};

// Every embedded file, sorted by path (generated).
std::span<const EmbeddedFile> embedded_files();

// The file at `path` (relative to web/), or nullptr.
const EmbeddedFile* find_embedded_file(std::string_view path);

}  // namespace castera::web
