# The two commands of the README: `make run` and `make test`. Both install what they need first.
# `make demo` is the populated variant of `make run`.
SWIFT ?= swift
DATA_DIR ?= ledger/data
SEED ?= 1
DAYS ?= 1
PORT ?= 8080

.PHONY: run demo test deps build bench-deps bench-mirror schemathesis-deps browser-test-deps

# System packages the build and the auditor's kit need, installed only when missing (Debian, as root).
deps:
	@if ! pkg-config --exists libsodium 2>/dev/null; then \
		echo "installing libsodium-dev (apt)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsodium-dev pkg-config >/dev/null; \
	fi
	@if ! pkg-config --exists libpq 2>/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing libpq-dev and postgresql (apt) for the Postgres mirror and its tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpq-dev postgresql >/dev/null; \
	fi
	@if ! /usr/bin/python3 -c 'import nacl' 2>/dev/null; then \
		echo "installing python3-nacl (apt) for audit/verify.py"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-nacl >/dev/null; \
	fi

# wrk, for `pahlawan bench http` only.
bench-deps: deps
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)

# `pahlawan bench mirror` beside a throwaway PostgreSQL with its durable defaults (fsync on).
bench-mirror: build
	WITH_POSTGRES_DURABLE=1 .ci/with-postgres sh -c '.build/release/pahlawan bench mirror --postgres "$$PAHLAWAN_TEST_POSTGRES_URL"'

build: deps
	$(SWIFT) build -c release --product pahlawan

run: build
	.build/release/pahlawan serve --data-dir $(DATA_DIR) --port $(PORT)

demo: build
	.build/release/pahlawan demo --serve --data-dir $(DATA_DIR) --port $(PORT) --seed $(SEED) --days $(DAYS)

# Schemathesis (PyPI, pinned) in a venv of its own under .build-venv (not committed).
SCHEMATHESIS_VERSION = 4.32.5
schemathesis-deps:
	@if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then \
		echo "installing python3-venv (apt) for schemathesis"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
	fi
	@if ! .build-venv/bin/schemathesis --version 2>/dev/null | grep -q "version $(SCHEMATHESIS_VERSION)$$"; then \
		echo "installing schemathesis $(SCHEMATHESIS_VERSION) (pip) into .build-venv"; \
		/usr/bin/python3 -m venv .build-venv && .build-venv/bin/pip install -q "schemathesis==$(SCHEMATHESIS_VERSION)"; \
	fi

# The console's browser tests (.ci/browser-tests): Debian's headless Chromium and its driver (no
# browser download), and Playwright, axe-playwright-python and pytest (PyPI, pinned) in .build-venv.
PLAYWRIGHT_VERSION = 1.65.2
AXE_PLAYWRIGHT_VERSION = 0.1.8
browser-test-deps: schemathesis-deps
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then \
		echo "installing chromium, chromium-driver and fonts-dejavu-core (apt) for the console's browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-dejavu-core >/dev/null; \
	fi
	@if ! .build-venv/bin/python -c 'import importlib.metadata as m, pytest; assert m.version("playwright") == "$(PLAYWRIGHT_VERSION)" and m.version("axe-playwright-python") == "$(AXE_PLAYWRIGHT_VERSION)"' 2>/dev/null; then \
		echo "installing playwright $(PLAYWRIGHT_VERSION) and axe-playwright-python $(AXE_PLAYWRIGHT_VERSION) (pip) into .build-venv"; \
		.build-venv/bin/pip install -q "playwright==$(PLAYWRIGHT_VERSION)" "axe-playwright-python==$(AXE_PLAYWRIGHT_VERSION)" pytest; \
	fi

# Every test, beside a throwaway PostgreSQL server that .ci/with-postgres starts and removes;
# the independent verifier's own tests (audit/test_verify.py, Debian's python3 with PyNaCl);
# then schemathesis against audit/openapi.yaml on a live service (.ci/schemathesis); then the
# auditor console in headless Chromium (.ci/browser-tests).
test: deps schemathesis-deps browser-test-deps
	.ci/with-postgres $(SWIFT) test
	/usr/bin/python3 -m unittest discover -s audit -p 'test_verify.py'
	.ci/schemathesis
	.ci/browser-tests
