#include "realtime/ice_servers.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/encoding.hpp"

namespace castera::realtime {

std::string turn_credential(std::string_view secret, std::string_view username) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(username.data()), username.size(), digest, &length);
    return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

namespace {

void write_urls(JsonWriter& w, const std::vector<std::string>& urls) {
    w.key("urls");
    w.begin_array();
    for (const std::string& url : urls) w.value(url);
    w.end_array();
}

}  // namespace

void write_ice_servers(JsonWriter& w, const IceConfig& config, Id user, std::chrono::system_clock::time_point now) {
    w.begin_array();
    if (!config.stun_urls.empty()) {
        w.begin_object();
        write_urls(w, config.stun_urls);
        w.end_object();
    }
    if (!config.turn_urls.empty() && !config.turn_secret.empty()) {
        auto expiry = std::chrono::duration_cast<std::chrono::seconds>((now + config.turn_ttl).time_since_epoch());
        std::string username = std::to_string(expiry.count()) + ":" + std::to_string(user);
        w.begin_object();
        write_urls(w, config.turn_urls);
        w.field("username", username);
        w.field("credential", turn_credential(config.turn_secret, username));
        w.end_object();
    }
    w.end_array();
}

}  // namespace castera::realtime
