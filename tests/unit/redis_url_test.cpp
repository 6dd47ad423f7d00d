#include <gtest/gtest.h>

#include <cstdlib>

#include "config/config.hpp"

namespace castera {
namespace {

TEST(RedisUrl, HostAlone) {
    Config::Redis r = parse_redis_url("redis://cache.internal");
    EXPECT_EQ(r.host, "cache.internal");
    EXPECT_EQ(r.port, 6379);
    EXPECT_EQ(r.db, 0);
    EXPECT_TRUE(r.password.empty());
    EXPECT_TRUE(r.username.empty());
    EXPECT_TRUE(r.enabled());
}

TEST(RedisUrl, EveryPart) {
    Config::Redis r = parse_redis_url("redis://castera:s%40cr%3Aet%2F@10.0.0.5:6380/3");
    EXPECT_EQ(r.username, "castera");
    EXPECT_EQ(r.password, "s@cr:et/");
    EXPECT_EQ(r.host, "10.0.0.5");
    EXPECT_EQ(r.port, 6380);
    EXPECT_EQ(r.db, 3);
}

TEST(RedisUrl, PasswordOnly) {
    EXPECT_EQ(parse_redis_url("redis://:secret@localhost:7000").password, "secret");
    EXPECT_EQ(parse_redis_url("redis://:secret@localhost:7000").username, "");
    EXPECT_EQ(parse_redis_url("redis://secret@localhost").password, "secret");
    // '@' in a password should be escaped, but the last '@' ends the credentials anyway.
    EXPECT_EQ(parse_redis_url("redis://:p@ss@localhost").password, "p@ss");
}

TEST(RedisUrl, Ipv6) {
    Config::Redis r = parse_redis_url("redis://[::1]:6390/1");
    EXPECT_EQ(r.host, "::1");
    EXPECT_EQ(r.port, 6390);
    EXPECT_EQ(r.db, 1);
    EXPECT_EQ(parse_redis_url("redis://[fe80::1]").port, 6379);
}

TEST(RedisUrl, BadUrlsStopStartUpWithOneLine) {
    for (const char* bad : {"", "localhost:6379", "http://localhost", "rediss://localhost", "redis://",
                            "redis://:pw@", "redis://host:0", "redis://host:65536", "redis://host:port",
                            "redis://host/db", "redis://host/-1", "redis://[::1", "redis://[::1]x",
                            "redis://:%zz@host", "redis://:%4@host", "redis://ho st"}) {
        try {
            parse_redis_url(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find("CASTERA_REDIS_URL"), std::string::npos) << e.what();
        }
    }
}

// The old server's variables, and CASTERA_REDIS_URL winning over them.
TEST(RedisUrl, FromTheEnvironment) {
    ::setenv("DJANGO_DEBUG", "True", 1);
    ::unsetenv("CASTERA_REDIS_URL");
    ::unsetenv("REDIS_HOST");
    ::unsetenv("REDIS_PORT");
    EXPECT_FALSE(load_config_from_env().redis.enabled());

    ::setenv("REDIS_HOST", "old-redis", 1);
    ::setenv("REDIS_PORT", "6400", 1);
    Config c = load_config_from_env();
    EXPECT_EQ(c.redis.host, "old-redis");
    EXPECT_EQ(c.redis.port, 6400);

    ::setenv("CASTERA_REDIS_URL", "redis://new-redis:6500/2", 1);
    ::setenv("CASTERA_REDIS_INSTANCE_TTL_SECONDS", "5", 1);
    c = load_config_from_env();
    EXPECT_EQ(c.redis.host, "new-redis");
    EXPECT_EQ(c.redis.port, 6500);
    EXPECT_EQ(c.redis.db, 2);
    EXPECT_EQ(c.redis.instance_ttl.count(), 5);

    ::setenv("REDIS_PORT", "not-a-port", 1);
    ::unsetenv("CASTERA_REDIS_URL");
    EXPECT_THROW(load_config_from_env(), ConfigError);

    for (const char* name : {"DJANGO_DEBUG", "CASTERA_REDIS_URL", "REDIS_HOST", "REDIS_PORT",
                             "CASTERA_REDIS_INSTANCE_TTL_SECONDS"})
        ::unsetenv(name);
}

}  // namespace
}  // namespace castera
