# Tandem's container image: one self-contained `tandem` binary on Debian slim.
#
#   make image                       # docker build -t tandem:<version> .
#   docker run -p 8080:8080 -v tandem-data:/data --read-only tandem:<version>
#
# Stage 1 bundles the web SDK, the viewer and the dashboard; stage 2 compiles the server with
# those bundles embedded (rust-embed reads sdk-js/dist and dashboard/dist at compile time);
# stage 3 is the runtime: the binary alone, run as an unprivileged user, writing only to /data.
# The same commands run outside a container in `make deploy-check` (tests/deploy), which is
# how they are checked on machines without a container runtime.

ARG NODE_VERSION=20
ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS web
WORKDIR /src
# The dashboard imports @tandem/agent from sdk-js's sources, so sdk-js is installed first.
COPY sdk-js/ sdk-js/
RUN npm ci --prefix sdk-js --no-audit --no-fund && npm run --prefix sdk-js build
COPY dashboard/ dashboard/
RUN npm ci --prefix dashboard --no-audit --no-fund && npm run --prefix dashboard build

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS server
# SAML: samael links libxmlsec1 (with OpenSSL) and libxml2; bindgen needs libclang.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libxmlsec1-dev libclang-dev pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY core/ core/
COPY realtime/ realtime/
COPY api/ api/
COPY testkit/ testkit/
COPY bench/ bench/
COPY --from=web /src/sdk-js/dist/ sdk-js/dist/
COPY --from=web /src/dashboard/dist/ dashboard/dist/
# The server's own pages include the design tokens at compile time (include_str!).
COPY sdk-js/packages/design/ sdk-js/packages/design/
# Cache mounts keep the registry and build directory between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p tandem-api --bin tandem \
    && install -D -s -m 0755 target/release/tandem /out/tandem

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="Tandem" \
      org.opencontainers.image.description="Self-hostable co-browsing server: REST API, realtime sockets, web SDK, viewer and dashboard in one binary" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="docs/self-hosting.md"

# ca-certificates: SMTP over TLS (smtps://, STARTTLS) verifies the mail server's certificate.
# libxmlsec1-openssl (with libxmlsec1, libxml2 and libssl3): SAML signature checks.
# Debian's package versions are not pinned: the release is (DEBIAN_RELEASE), and a rebuild
# should pick up its security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libxmlsec1-openssl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tandem \
    && useradd --system --uid 10001 --gid tandem --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin tandem \
    && install -d -o 10001 -g 10001 -m 0750 /data

COPY --from=server /out/tandem /usr/local/bin/tandem

# The only writable place (run the container with --read-only): the SQLite database when no
# PostgreSQL is configured.
VOLUME ["/data"]
WORKDIR /data
ENV TANDEM_LISTEN=0.0.0.0:8080 \
    TANDEM_DATABASE_URL=sqlite:///data/tandem.db \
    TANDEM_LOG_FORMAT=json
EXPOSE 8080
USER 10001:10001
# Tandem drains its sockets and requests on SIGTERM (for up to request_timeout_secs).
STOPSIGNAL SIGTERM
# Slim has no curl or wget: bash's /dev/tcp asks /healthz on the default port (change it if
# TANDEM_LISTEN moves the port). Kubernetes ignores this and uses the chart's probes.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/local/bin/tandem"]
CMD ["serve"]
