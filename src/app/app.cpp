#include "app/app.hpp"

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
      roster(rooms, *bus) {
    events.add(room_fanout);
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
          app.config.ice, app.roster},
      rooms{io.get_executor(), app.rooms, *app.bus, services, counters, app.room_limits, app.config.ice,
            app.attendance} {
    store->count_statements_in(counters.db_statements_in_flight);
}

}  // namespace castera
