// A main for the fuzz targets in a normal build: runs LLVMFuzzerTestOneInput once over every
// file of the directories (or files) it is given, so that ctest replays the seed corpora and
// the crashers that were fixed. Directories that do not exist are skipped (a target with no
// crashers yet). Exits non-zero when it could replay nothing at all.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// Every regular file under `root` (or `root` itself), sorted, so that a run is repeatable.
std::vector<fs::path> inputs_under(const fs::path& root) {
    std::vector<fs::path> found;
    std::error_code ec;
    if (fs::is_regular_file(root, ec)) return {root};
    if (!fs::is_directory(root, ec)) return found;
    for (const auto& entry : fs::recursive_directory_iterator(root, ec))
        if (entry.is_regular_file()) found.push_back(entry.path());
    std::sort(found.begin(), found.end());
    return found;
}

// One input, fed as libFuzzer would: a copy in a buffer of exactly its size.
void replay(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::uint8_t> exact(bytes.begin(), bytes.end());
    std::fprintf(stderr, "replay %s (%zu bytes)\n", file.c_str(), exact.size());
    LLVMFuzzerTestOneInput(exact.data(), exact.size());
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t replayed = 0;
    for (int i = 1; i < argc; ++i)
        for (const fs::path& file : inputs_under(argv[i])) {
            replay(file);
            ++replayed;
        }
    std::printf("replayed %zu inputs\n", replayed);
    return replayed > 0 ? 0 : 1;
}
