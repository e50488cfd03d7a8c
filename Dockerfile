# Ladder as a container: a release build, then only the binary on a distroless base,
# running as a non-root user. Build: `docker build -t ladder .`; run the three-server
# example with `docker compose up` (compose.yaml). docs/operations.md describes both.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p ladder \
 && install -D -m 0755 target/release/ladder /out/ladder \
 && install -d -m 0700 /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/ladder /usr/local/bin/ladder
# The SQLite data directory, owned by the image's non-root user (65532); unused when
# LADDER_DATABASE_URL names a PostgreSQL database.
COPY --from=build --chown=65532:65532 /out/data /var/lib/ladder
USER 65532:65532
ENV LADDER_LISTEN=0.0.0.0:8080 \
    LADDER_DATA_DIR=/var/lib/ladder \
    LADDER_LOG_JSON=true
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["ladder", "health"]
ENTRYPOINT ["ladder"]
CMD ["serve"]
