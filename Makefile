# auth-server — everyday commands. Only the Rust toolchain is needed (C libraries are
# built from source); `make test` also needs a PostgreSQL server (see README).

CARGO ?= cargo
# Where the PostgreSQL tests create their throw-away databases.
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: run test lint fmt build release clean help bench bench-scale bench-timing bench-prepared docs-check browser-test fuzz fuzz-api topology-test

help:
	@echo "make run     - build and serve on http://127.0.0.1:8000 (SQLite in ./auth.db)"
	@echo "make test    - every test: domain, adapters on SQLite + PostgreSQL, end-to-end"
	@echo "make lint    - rustfmt check + clippy -D warnings"
	@echo "make release - optimised binary in target/release/auth-server"
	@echo "make bench-timing - /login refusal timings (unknown, wrong, inactive, locked); BENCH_ROUNDS, BCRYPT_COST"
	@echo "make fuzz    - run each cargo-fuzz target for FUZZ_TIME seconds (default 600)"
	@echo "make bench   - wrk load figures on SQLite and PostgreSQL into bench/RESULTS.md"
	@echo "make bench-scale - 1,000,000 users vs 1,000 on PostgreSQL: paging, search, prune (SCALE_USERS)"
	@echo "make topology-test - primary + synchronous standby + PgBouncer, two instances, a failover mid-load"
	@echo "make bench-prepared - req/s with and without named prepared statements on PostgreSQL"
	@echo "make docs-check - /docs rendered in headless Chromium: every route, no console error"
	@echo "make browser-test - passkeys in headless Chromium with a virtual authenticator"
	@echo "make fuzz-api   - schemathesis against /openapi.json: no 5xx, no schema violation"

run:
	$(CARGO) run --release --bin auth-server -- serve

test:
	$(CARGO) test --workspace --all-targets --no-fail-fast

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

build:
	$(CARGO) build --workspace --all-targets

release:
	$(CARGO) build --release --bin auth-server

clean:
	$(CARGO) clean

# Not a test: release-built timing benchmark of /login's refusals (must lie within 10%).
bench-timing:
	$(CARGO) run --release --example bench_timing

# cargo-fuzz on the stable toolchain: RUSTC_BOOTSTRAP=1 accepts the nightly flags it passes;
# no sanitizer (they need a nightly standard library). One target after another.
FUZZ_TIME ?= 600
FUZZ_TARGETS ?= verify_token register_body login_body
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@for target in $(FUZZ_TARGETS); do \
		echo "== $$target ($(FUZZ_TIME) s)"; \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --sanitizer none $$target -- \
			-max_total_time=$(FUZZ_TIME) -jobs=1 -workers=1 || exit 1; \
	done

bench:
	bash bench/run.sh

# 1,000,000 users (SCALE_USERS) against 1,000, generated in PostgreSQL; scale section of
# bench/RESULTS.md.
bench-scale:
	bash bench/scale.sh

# The production topology on this machine (see README, "Production"): installs Debian's
# pgbouncer when missing, builds the server, runs examples/topology (asserts; exits non-zero).
topology-test:
	bash scripts/topology-test.sh

# Not a test: req/s of GET / and /refresh-access with and without prepared statements, one run.
bench-prepared:
	$(CARGO) run --release --example bench_prepared

docs-check:
	bash scripts/docs-check.sh

browser-test:
	bash scripts/browser-test.sh

fuzz-api:
	bash scripts/fuzz-api.sh
