#include "app/app.hpp"

#include "util/random.hpp"
#include "webhooks/signature.hpp"

namespace castera {

namespace {

realtime::RoomLimits room_limits_from(const Config& c) {
    return realtime::RoomLimits{.max_frame_bytes = c.ws_max_frame_bytes,
                                .max_queued_frames = c.ws_max_queued_frames,
                                .messages_per_second = c.ws_messages_per_second,
                                .message_burst = c.ws_message_burst,
                                .idle_timeout = c.ws_idle_timeout,
                                .max_connections_per_user = c.ws_max_connections_per_user,
                                .max_connections_per_room = c.ws_max_connections_per_room,
                                .history_messages = c.ws_history_messages,
                                .resume_window = c.ws_resume_window};
}

webhooks::WorkerSettings webhook_settings(const Config::Webhooks& c) {
    using std::chrono::microseconds;
    webhooks::WorkerSettings s;
    for (const std::string& url : c.urls)
        if (auto endpoint = webhooks::parse_endpoint(url)) s.endpoints.push_back(std::move(*endpoint));
    s.key = webhooks::parse_secret(c.secret).value_or("");
    auto seconds = [](double n) { return microseconds(static_cast<std::int64_t>(n * 1e6)); };
    s.retry_base = seconds(c.retry_base_seconds);
    s.timeout = seconds(c.timeout_seconds);
    s.max_age = seconds(c.max_age_hours * 3600);
    s.retention = seconds(c.retention_hours * 3600);
    s.instance = random_token(16);
    return s;
}

}  // namespace

App::App(Config cfg, std::unique_ptr<StoreFactory> factory)
    : config(std::move(cfg)),
      stores(std::move(factory)),
      bus(make_room_bus(config, rooms, counters.process)),
      passwords(hashing, config.password_iterations),
      clerk(config.clerk, hashing),
      login_throttle(config.login_failures_per_account, config.login_failures_per_address, config.login_failure_window),
      request_limiter(config.user_requests_per_minute),
      origins(config.allowed_origins, config.trust_forwarded_proto),
      cookies{config.session_age, config.secure_cookies},
      room_limits(room_limits_from(config)),
      room_fanout(*bus),
      outbox(config.webhooks.urls,
             [this](Id meeting) {
                 if (webhook_worker) webhook_worker->wake(meeting);
             }),
      roster(rooms, *bus) {
    events.add(room_fanout);
    if (config.webhooks.enabled()) events.add(outbox);
}

void App::start_webhooks(Loop& loop) {
    if (!config.webhooks.enabled() || webhook_worker) return;
    webhook_worker = std::make_unique<webhooks::Worker>(webhook_settings(config.webhooks), *loop.store,
                                                        loop.io.get_executor());
    webhook_worker->start();
}

void App::stop_loop_work() {
    hashing.join();
    webhook_worker.reset();
}

std::unique_ptr<Loop> App::make_loop(boost::asio::io_context& io) { return std::make_unique<Loop>(*this, io); }

Loop::Loop(App& app, boost::asio::io_context& io_context)
    : io(io_context),
      counters(app.counters.add_loop()),
      store(app.stores->make_store()),
      services(services::Deps{*store, app.events, app.passwords, app.login_throttle, app.credentials, counters,
                              &app.roster}),
      authenticator(Authenticator::Deps{*store, auth_cache, app.credentials, app.clerk, app.config.clerk,
                                        app.config.credential_cache_ttl, services.accounts}),
      api{services, authenticator, app.origins, app.request_limiter, app.cookies, *app.bus, counters, app.metrics,
          app.config.ice, app.roster, app.config.webhooks.enabled()},
      rooms{io.get_executor(), app.rooms,       *app.bus,        services,
            counters,         app.room_limits, app.config.ice, app.config.webhooks.enabled()} {
    store->count_statements_in(counters.db_statements_in_flight);
}

}  // namespace castera
