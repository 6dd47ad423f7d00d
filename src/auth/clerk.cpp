#include "auth/clerk.hpp"

#include <boost/asio/post.hpp>

#include <fstream>
#include <sstream>

#include "auth/jwks_fetch.hpp"
#include "observe/log.hpp"
#include "util/validate.hpp"

namespace castera {
namespace {

// Unknown kids cannot make castera fetch more often than this (an attacker may send many).
constexpr std::chrono::seconds kMinimumRefreshInterval{5};

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("CLERK_JWKS_FILE " + path + " cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::optional<std::string> string_claim(const boost::json::object& claims, std::string_view path) {
    const boost::json::value* v = jwt::find_claim(claims, path);
    if (!v || !v->is_string() || v->get_string().empty()) return std::nullopt;
    std::string text(v->get_string());
    if (!is_valid_utf8(text)) return std::nullopt;
    return text;
}

// "name", else first and last names (Clerk's and OpenID's spellings), within 255 characters.
std::optional<std::string> full_name_from(const boost::json::object& claims) {
    std::optional<std::string> name = string_claim(claims, "name");
    if (!name) {
        auto first = string_claim(claims, "first_name");
        if (!first) first = string_claim(claims, "given_name");
        auto last = string_claim(claims, "last_name");
        if (!last) last = string_claim(claims, "family_name");
        if (first && last) name = *first + " " + *last;
        else if (first) name = first;
        else if (last) name = last;
    }
    if (name && utf8_length(*name) > 255) return std::nullopt;
    return name;
}

std::optional<std::string> image_from(const boost::json::object& claims) {
    for (std::string_view claim : {"image_url", "picture"})
        if (auto url = string_claim(claims, claim); url && url->size() <= 200 && is_valid_url(*url)) return url;
    return std::nullopt;
}

}  // namespace

ClerkKeys::ClerkKeys(const Config::Clerk& config, boost::asio::thread_pool& pool) : config_(config), pool_(pool) {
    if (!config_.public_key_pem.empty()) {
        pem_key_ = jwt::key_from_pem(config_.public_key_pem);
        if (!pem_key_) throw ConfigError("CLERK_JWT_KEY is not a PEM RSA public key of at least 2048 bits");
    }
    if (!config_.jwks_file.empty()) {
        auto keys = jwt::keys_from_jwks(read_file(config_.jwks_file));
        if (!keys) throw ConfigError("CLERK_JWKS_FILE " + config_.jwks_file + " is not a JWKS document");
        jwks_ = std::move(*keys);
    }
    if (!config_.jwks_url.empty()) {
        boost::asio::post(pool_, [this] { reload(); });  // at start, without blocking it
    }
}

jwt::Policy ClerkKeys::policy() const {
    return jwt::Policy{config_.issuer, config_.authorized_parties, config_.leeway};
}

bool ClerkKeys::has_keys() const {
    std::shared_lock lock(mutex_);
    return pem_key_ || !jwks_.empty();
}

std::optional<jwt::PublicKey> ClerkKeys::find(const std::string& kid) {
    {
        std::shared_lock lock(mutex_);
        if (!kid.empty()) {
            if (auto it = jwks_.find(kid); it != jwks_.end()) return it->second;
        } else if (jwks_.size() == 1) {
            return jwks_.begin()->second;
        }
        // A PEM key (Clerk's "JWT public key") stands for every kid.
        if (pem_key_) return pem_key_;
    }
    schedule_refresh();
    return std::nullopt;
}

// A token with an unknown kid may mean the keys were rotated: read the source again, on the
// worker pool, at most once per interval however many such tokens arrive.
void ClerkKeys::schedule_refresh() {
    if (config_.jwks_url.empty() && config_.jwks_file.empty()) return;
    std::int64_t now = steady_ms();
    std::int64_t last = last_refresh_ms_.load();
    if (last != 0 && now - last < std::chrono::milliseconds(kMinimumRefreshInterval).count()) return;
    if (refreshing_.exchange(true)) return;
    last_refresh_ms_ = now;
    boost::asio::post(pool_, [this] {
        reload();
        refreshing_ = false;
    });
}

void ClerkKeys::reload() {
    try {
        std::string text = config_.jwks_url.empty() ? read_file(config_.jwks_file) : fetch_url(config_.jwks_url);
        auto keys = jwt::keys_from_jwks(text);
        if (!keys) throw std::runtime_error("not a JWKS document");
        std::unique_lock lock(mutex_);
        jwks_ = std::move(*keys);
    } catch (const std::exception& e) {
        // Keep the keys we have; tokens signed with them still pass.
        log::warning("auth", "cannot refresh the Clerk JWKS", {{"error", e.what()}});
    }
}

std::optional<ClerkIdentity> identity_from_claims(const boost::json::object& claims, const Config::Clerk& config) {
    auto email = string_claim(claims, config.email_claim);
    if (!email || email->size() > 254 || !is_valid_email(*email)) return std::nullopt;
    // As Django's normalize_email: the domain is case-insensitive.
    for (std::size_t i = email->rfind('@') + 1; i < email->size(); ++i)
        (*email)[i] = static_cast<char>(std::tolower(static_cast<unsigned char>((*email)[i])));
    ClerkIdentity identity{*email, full_name_from(claims), image_from(claims), false};
    if (!config.role_claim.empty()) identity.admin = string_claim(claims, config.role_claim) == "admin";
    return identity;
}

}  // namespace castera
