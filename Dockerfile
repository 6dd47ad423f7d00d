# castera in a container: a build stage with the compilers and -dev packages, and a runtime
# stage with only the shared libraries the binary needs, run as a user without privileges.
#   docker build -t castera .
#   docker compose up          (compose.yaml: castera on :8100 with PostgreSQL 15 and Redis)
# tests/deploy checks this file's stages, user, port and health check, and runs the runtime
# stage's commands on a Debian 12 machine (tests/deploy/runtime_stage.py).

FROM debian:12-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev \
      libssl-dev libsqlite3-dev libpq-dev libhiredis-dev libcli11-dev libjemalloc-dev liburing-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY src src
COPY web web
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCASTERA_TESTS=OFF \
 && cmake --build build \
 && strip build/castera

FROM debian:12-slim AS runtime
# The binary's shared libraries (readelf -d build/castera), and curl for the health check.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libboost-json1.81.0 libssl3 libsqlite3-0 libpq5 libhiredis0.14 libjemalloc2 liburing2 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/castera --create-home \
      --shell /usr/sbin/nologin castera
COPY --from=build /src/build/castera /usr/local/bin/castera
USER castera
WORKDIR /var/lib/castera
# The old server's port. The database is SQLite's castera.db in the working directory unless
# POSTGRES_HOST (the old server's settings, as compose.yaml sets them) or CASTERA_DATABASE_URL
# names a PostgreSQL.
ENV CASTERA_HOST=0.0.0.0 \
    CASTERA_PORT=8100
EXPOSE 8100
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8100/readyz || exit 1
# serve migrates the database first; SIGTERM stops it gracefully (docker stop).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/castera"]
CMD ["serve"]
