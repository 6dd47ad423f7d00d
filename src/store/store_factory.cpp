#include <stdexcept>

#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace castera {

std::unique_ptr<StoreFactory> make_store_factory(const std::string& database_url) {
    constexpr std::string_view kSqlite = "sqlite:";
    if (database_url.starts_with(kSqlite)) {
        std::string path = database_url.substr(kSqlite.size());
        // "sqlite:///abs/path" and "sqlite://rel" are accepted too, as other tools spell them.
        if (path.starts_with("//")) path.erase(0, 2);
        if (path.empty()) throw std::invalid_argument("CASTERA_DATABASE_URL \"sqlite:\" needs a file path");
        return sqlite::make_sqlite_factory(std::move(path));
    }
    // libpq reads both spellings of its URI scheme.
    if (database_url.starts_with("postgresql://") || database_url.starts_with("postgres://"))
        return postgres::make_postgres_factory(database_url);
    throw std::invalid_argument("CASTERA_DATABASE_URL \"" + database_url +
                                "\": unsupported database (expected sqlite:PATH or postgresql://...)");
}

}  // namespace castera
