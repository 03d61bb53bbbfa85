# Tandem: `make run` starts the server on its embedded defaults; `make test` runs every test.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/tandem-target
CARGO ?= cargo

.PHONY: bench-dashboard bench-smoke run test audit lint js-lint fmt rust-test compat-deps sdk dashboard sdk-pack docs js-check bench bench-realtime bench-cobrowse openapi clean-data corpus bench-fidelity security image deploy-check settings-doc saml-venv bench-saml

## Start Tandem on SQLite (./data/tandem.db) at http://127.0.0.1:8080.
run: sdk dashboard
	$(CARGO) run -p tandem-api --bin tandem -- serve

## Every gate CI runs: formatting, lints, known advisories, type checks, Rust tests on both
## backends, the SDK compatibility run, the end-to-end tests in Chromium and every benchmark once
## at a tiny size.
test: lint js-lint audit compat-deps sdk dashboard sdk-pack js-check corpus rust-test bench-smoke security deploy-check

## Cargo.lock against the RustSec advisory database, offline: a local copy of the database
## (ADVISORY_DB, by default the one beside this clone, or beside the checkout this clone was
## made from). Any advisory fails the run unless .cargo/audit.toml ignores it with a reason.
CLONED_FROM := $(patsubst file://%,%,$(shell git config --get remote.origin.url 2>/dev/null))
ADVISORY_DB ?= $(firstword $(wildcard ../shared/advisory-db $(if $(CLONED_FROM),$(CLONED_FROM)/../shared/advisory-db)) ../shared/advisory-db)
audit:
	@test -d "$(ADVISORY_DB)/crates" || { echo "audit: no advisory database at $(ADVISORY_DB); \
	set ADVISORY_DB to a clone of the RustSec advisory-db" >&2; exit 1; }
	$(CARGO) audit --no-fetch --stale --db "$(ADVISORY_DB)" --deny warnings
	@# The `rsa` advisory is ignored because `rsa` is only listed in Cargo.lock: keep it so.
	@test -z "$$($(CARGO) tree -i rsa --target all -e all 2>/dev/null)" || { \
	echo "audit: the rsa crate is in the build again (cargo tree -i rsa): RUSTSEC-2023-0071 applies" >&2; exit 1; }

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@# The one write path: built without any test suite or benchmark (so without core's
	@# `testing` feature), the Store is private to core, and any side door fails to compile.
	$(CARGO) check -p tandem-realtime -p tandem-api --lib --bins

compat-deps: tests/compat/node_modules/.package-lock.json

## npm packages are installed (`npm ci`) only when package-lock.json or package.json is newer
## than the last install, so `make run` starts at once when nothing changed. `allowScripts` in
## each package.json declines the install scripts npm 11 asks about: esbuild and cbor-extract
## get their binaries from optional platform packages anyway, core-js's only prints an advert.
%/node_modules/.package-lock.json: %/package-lock.json %/package.json
	npm ci --prefix $* --no-audit --no-fund
	@touch $@

## The web SDK and the agent viewer, bundled into sdk-js/dist (served under /sdk-js/), and the
## agent SDK package (sdk-js/packages/agent/dist).
sdk: sdk-js/node_modules/.package-lock.json
	npm run --prefix sdk-js build
	npm run --prefix sdk-js build:agent

## The dashboard (dashboard/, Vite + Preact), built into dashboard/dist and served at /dashboard.
## It imports @tandem/agent from source, so the SDK's packages are installed first.
dashboard: sdk dashboard/node_modules/.package-lock.json
	npm run --prefix dashboard build

## @tandem/web and @tandem/agent as customers get them: npm pack, installed from the registry
## into a clean project (imports in Node, published types checked).
sdk-pack: sdk
	npm run --prefix sdk-js test:pack
	npm run --prefix sdk-js test:pack-agent

## The agent SDK's API reference, generated from its types into sdk-js/packages/agent/docs.
docs: sdk
	npm run --prefix sdk-js docs:agent

## Type checks, the committed API types against api/openapi.json, and the packages' and the
## dashboard's unit tests.
js-check: dashboard
	npm run --prefix sdk-js typecheck
	npm run --prefix sdk-js check:types
	npm run --prefix sdk-js test:core
	npm run --prefix sdk-js test:web
	npm run --prefix sdk-js test:viewer
	npm run --prefix sdk-js test:agent
	npm run --prefix sdk-js test:wire
	npm run --prefix dashboard typecheck
	npm run --prefix dashboard test

## eslint with typescript-eslint over sdk-js and dashboard (their eslint.config.mjs); no warnings allowed.
js-lint: sdk dashboard
	npm run --prefix sdk-js lint
	npm run --prefix dashboard lint

## api/openapi.json, generated from the REST handlers and types, and the SDKs' types generated
## from it. `make rust-test` fails while the committed document differs from what the code
## generates, `make js-check` while the committed types differ from the document's.
openapi:
	$(CARGO) run -q -p tandem-api --bin tandem -- openapi > api/openapi.json.new
	mv api/openapi.json.new api/openapi.json
	npm run --prefix sdk-js gen:types

## Needs PostgreSQL at 127.0.0.1:5432 (TANDEM_TEST_POSTGRES overrides the admin URL).
rust-test: saml-venv
	SAML_IDP_PYTHON=$(SAML_VENV)/bin/python $(CARGO) test --workspace

## The attack suite and API fuzzing (tests/security): forged JWTs, cross-tenant canaries, the
## differential socket frames, concurrent code guessing, consent and control gates, schemathesis.
## It starts its own servers on loopback (SQLite; two replicas on a fresh PostgreSQL database at
## 127.0.0.1:5432 with a private redis-server), prints a table and fails on any finding. Python
## packages go into a venv outside the clone, reinstalled when requirements.txt changes.
SECURITY_VENV ?= $(HOME)/.cache/tandem-security-venv
security:
	@test -x $(SECURITY_VENV)/bin/python || python3 -m venv $(SECURITY_VENV)
	@cmp -s tests/security/requirements.txt $(SECURITY_VENV)/requirements.txt || { \
	  $(SECURITY_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/security/requirements.txt && \
	  cp tests/security/requirements.txt $(SECURITY_VENV)/requirements.txt; }
	$(CARGO) build -p tandem-api --bin tandem
	$(SECURITY_VENV)/bin/python tests/security/run.py

## The SAML tests' identity provider (tests/saml/idp.py, pysaml2): its Python packages go into a
## venv outside the clone, reinstalled when tests/saml/requirements.txt changes. The Rust tests run
## it with SAML_IDP_PYTHON=$(SAML_VENV)/bin/python; it signs with the xmlsec1 binary. Its
## self-test: $(SAML_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/saml
SAML_VENV ?= $(HOME)/.cache/tandem-saml-venv
saml-venv:
	@command -v xmlsec1 >/dev/null 2>&1 || { echo "saml-venv: the test IdP signs with the xmlsec1 \
	binary: install the Debian package xmlsec1" >&2; exit 1; }
	@test -x $(SAML_VENV)/bin/python || python3 -m venv $(SAML_VENV)
	@cmp -s tests/saml/requirements.txt $(SAML_VENV)/requirements.txt || { \
	  $(SAML_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/saml/requirements.txt && \
	  cp tests/saml/requirements.txt $(SAML_VENV)/requirements.txt; }

## The deployment suite (tests/deploy): the Helm chart linted, rendered for three values sets
## and validated against Kubernetes 1.33, bad values refused, the rendered environment run by the
## real binary against PostgreSQL and Redis (plus Kubernetes' service-link variables), the
## release binary alone serving the SDK and viewer, checkov on the chart and Terraform,
## terraform fmt, HCL parsing, hadolint, and the settings table of docs/self-hosting.md against
## the config source. Offline once its venvs (outside the clone) are installed; checkov has a
## venv of its own (tests/deploy/requirements.txt says why). No container runtime is needed:
## the Dockerfile's build commands are the sdk target's and the release build below.
DEPLOY_VENV ?= $(HOME)/.cache/tandem-deploy-venv
CHECKOV_VENV ?= $(HOME)/.cache/tandem-deploy-checkov-venv
deploy-check: sdk dashboard
	@test -x $(DEPLOY_VENV)/bin/python || python3 -m venv $(DEPLOY_VENV)
	@cmp -s tests/deploy/requirements.txt $(DEPLOY_VENV)/requirements.txt || { \
	  $(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/deploy/requirements.txt && \
	  cp tests/deploy/requirements.txt $(DEPLOY_VENV)/requirements.txt; }
	@test -x $(CHECKOV_VENV)/bin/python || python3 -m venv $(CHECKOV_VENV)
	@cmp -s tests/deploy/requirements-checkov.txt $(CHECKOV_VENV)/requirements.txt || { \
	  $(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/deploy/requirements-checkov.txt && \
	  cp tests/deploy/requirements-checkov.txt $(CHECKOV_VENV)/requirements.txt; }
	$(CARGO) build -p tandem-api --bin tandem
	$(CARGO) build --release --locked -p tandem-api --bin tandem
	CHECKOV=$(CHECKOV_VENV)/bin/checkov $(DEPLOY_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/deploy

## Rewrites the settings table in docs/self-hosting.md from api/src/config/mod.rs.
settings-doc:
	python3 tests/deploy/settings_doc.py --write

## The container image (Dockerfile), tagged with the workspace version. CONTAINER_RUNTIME=podman
## works too; without a runtime that answers, it stops and says so.
CONTAINER_RUNTIME ?= docker
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
image:
	@command -v $(CONTAINER_RUNTIME) >/dev/null 2>&1 || { echo "image: no container runtime: \
	$(CONTAINER_RUNTIME) is not installed (install Docker or Podman, or set CONTAINER_RUNTIME)" >&2; exit 1; }
	@$(CONTAINER_RUNTIME) info >/dev/null 2>&1 || { echo "image: no container runtime: \
	$(CONTAINER_RUNTIME) is installed but its daemon does not answer ($(CONTAINER_RUNTIME) info)" >&2; exit 1; }
	$(CONTAINER_RUNTIME) build --build-arg VERSION=$(VERSION) \
	  --build-arg REVISION=$$(git rev-parse --short HEAD) -t tandem:$(VERSION) .

## Every benchmark writes its figures, each over at least three runs, with the machine's core
## count, to target/bench/<name>.json, and prints how they moved since the last run.

## List-query latency at 1,000,000 sessions in PostgreSQL and 100,000 in SQLite, three rounds,
## and the insert rate of sessions with their filter rows.
bench:
	$(CARGO) run --release -p tandem-bench --bin tandem-bench

## The socket hub side by side with nats-server's WebSocket listener (Debian package
## nats-server), three runs on fresh servers: memory per idle socket, a 10,000-socket fan-out's
## latency and CPU per delivery, a 1→4 relay's throughput and latency, where a relayed frame
## waits inside Tandem; figures and Tandem/nats ratios into target/bench/realtime.json.
bench-realtime:
	$(CARGO) build --release -p tandem-api --bin tandem
	$(CARGO) run --release -p tandem-bench --bin tandem-bench-realtime

## Co-browsing: relay density (1,000 sessions replaying bench/data/cobrowse-trace.json.gz as the
## web SDK sends it, a compressed 290 KB snapshot then the trace's events batched, to one agent:
## sessions per vCPU, memory per session, relay p99; bytes per session-minute against stock
## rrweb's), customer → viewer latency in
## Chromium (DOM and pointer), the agent's click → the customer's handler with remote control
## on, and the recorder's cost (longest task, snapshot CPU) at 10k, 50k and 150k nodes against
## stock rrweb.
bench-cobrowse: sdk
	$(CARGO) build --release -p tandem-api --bin tandem
	$(CARGO) run --release -p tandem-bench --bin tandem-bench-realtime -- --density 1000 --chromium
	node sdk-js/bench/recorder.mjs

## The real-page corpus (tests/corpus/pages.json) for the fidelity suite and benchmark: Debian
## documentation packages and npm packages, unpacked into tests/corpus/pages (not in git).
corpus:
	tests/corpus/fetch.sh

## Fidelity on the real-page corpus against the release server on its defaults: per page, the
## pixels that differ at rest, after scrolling and after an interaction, snapshot bytes, DOM
## size, time to first paint in the viewer and the recorder's longest main-thread task.
bench-fidelity: sdk corpus
	$(CARGO) build --release -p tandem-api --bin tandem
	node sdk-js/bench/fidelity.mjs

## How fast the SAML ACS answers genuine responses and refuses forged ones (release build,
## SQLite, the real test IdP): per case, tries, refused, median and slowest in milliseconds.
bench-saml: saml-venv
	SAML_IDP_PYTHON=$(SAML_VENV)/bin/python $(CARGO) run --release -p tandem-bench --bin tandem-bench-saml

## The dashboard's first load in Chromium against the release server: navigation start to the
## Sessions list on screen, cold and warm cache, and its JavaScript's gzip size.
bench-dashboard: dashboard
	$(CARGO) build --release -p tandem-api --bin tandem
	TANDEM_BIN=$(CARGO_TARGET_DIR)/release/tandem node dashboard/scripts/bench.mjs

## Every benchmark once at a tiny size on the debug build (`make test` runs it): each must
## complete and print its figures (written under target/bench/smoke, so the real runs' files
## stay); nothing about time is asserted. The realtime one needs nats-server, as
## `make bench-realtime` does.
DEBUG_BIN = $(CARGO_TARGET_DIR)/debug
bench-smoke: export BENCH_OUT = $(CURDIR)/target/bench/smoke
bench-smoke: sdk dashboard corpus saml-venv
	$(CARGO) build -p tandem-api --bin tandem -p tandem-bench --bins
	$(DEBUG_BIN)/tandem-bench --smoke
	$(DEBUG_BIN)/tandem-bench-realtime --tandem $(DEBUG_BIN)/tandem --sockets 50 --updates 3 --relay-secs 1 --runs 1
	RUNS=1 LATENCY_SAMPLES=10 $(DEBUG_BIN)/tandem-bench-realtime --tandem $(DEBUG_BIN)/tandem --density 20 --density-secs 1 --chromium
	node sdk-js/bench/recorder.mjs --smoke
	RUNS=1 TANDEM_CORPUS_ONLY=sphinx-functions TANDEM_BIN=$(DEBUG_BIN)/tandem node sdk-js/bench/fidelity.mjs
	SAML_IDP_PYTHON=$(SAML_VENV)/bin/python $(DEBUG_BIN)/tandem-bench-saml --smoke
	RUNS=3 TANDEM_BIN=$(DEBUG_BIN)/tandem node dashboard/scripts/bench.mjs

fmt:
	$(CARGO) fmt --all

clean-data:
	rm -rf data
