# Builds the nichiro binary and a small image that runs the daemon.
#   docker compose up -d        (see docker-compose.yml)
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN cargo build --release --locked -p nichiro

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app --shell /usr/sbin/nologin nichiro
WORKDIR /app
COPY --from=build /src/target/release/nichiro /usr/local/bin/nichiro
# The corpus is part of the image; config/ is mounted (so it can be edited) and data/ is a volume.
COPY corpus ./corpus
COPY config ./config
RUN mkdir -p /app/data && chown nichiro /app/data
USER nichiro
VOLUME ["/app/data"]
# Health, metrics and the API; `nichiro health` asks /readyz (no HTTP client in the image).
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=15s --start-period=120s --retries=3 \
    CMD ["nichiro", "health", "127.0.0.1:8080"]
ENTRYPOINT ["nichiro"]
CMD ["run", "--config", "/app/config/default.toml", "--listen", "0.0.0.0:8080"]
