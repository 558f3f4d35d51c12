# gridapp — two commands do all set-up on a fresh Debian machine:
#   make run    set up, migrate, load demo data on first start, serve on 127.0.0.1:$(PORT)
#   make test   set up with test tools, run the whole suite on SQLite, then on a throwaway PostgreSQL
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# Test processes (pytest-xdist), each with its own databases; PYTEST_ARGS= runs each pass in one process.
# Three on SQLite: its browser tests wait on Chromium and a throttled network, and a third process fills
# the two cores meanwhile (104-106 s against 109-115 s a pass); two on PostgreSQL, whose server needs the
# rest (97 s against 103 s).
PYTEST_ARGS ?= -n 3
POSTGRES_PYTEST_ARGS ?= $(if $(PYTEST_ARGS),-n 2,)
export FLASK_APP := wsgi.py

APT_RUN  := fonts-noto-cjk libharfbuzz-subset0
APT_TEST := $(APT_RUN) chromium postgresql poppler-utils zbar-tools
APT_BENCH := wrk

.PHONY: run test test-sqlite test-postgres bench bench-quick setup setup-test translations messages clean

run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT)  (Ctrl-C to stop)"
	$(BIN)/gunicorn -c gunicorn_config.py --workers 2 --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

test: setup-test
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

# Python keeps the bytecode of gridapp and pytest its rewritten test modules (__pycache__, ignored by
# git) even where the environment says not to: each worker and each CLI or gunicorn process of the
# tests would compile them again (~3 s of CPU per worker).
test-sqlite test-postgres: export PYTHONDONTWRITEBYTECODE :=

test-sqlite:
	@echo "== test suite on SQLite =="
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres:
	@echo "== test suite on PostgreSQL (throwaway cluster) =="
	tests/with_postgres.sh $(BIN)/pytest $(POSTGRES_PYTEST_ARGS)

bench: setup-test
	@$(call apt_ensure,$(APT_BENCH),fail)
	$(BIN)/python bench/run_all.py

bench-quick: setup-test
	@$(call apt_ensure,$(APT_BENCH),fail)
	$(BIN)/python bench/run_all.py --quick

setup: $(VENV)/.installed translations
	@$(call apt_ensure,$(APT_RUN),warn)

setup-test: $(VENV)/.installed-test translations
	@$(call apt_ensure,$(APT_TEST),fail)

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d gridapp/translations

clean:
	rm -rf $(VENV) instance build .pytest_cache

# $(call apt_ensure,PACKAGES,warn|fail): install missing Debian packages when root; otherwise say how.
define apt_ensure
missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" = 0 ]; then \
    echo "Installing Debian packages:$$missing"; \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
  else \
    echo "Missing Debian packages:$$missing"; echo "  Run: sudo apt-get install -y$$missing"; \
    [ "$(2)" = warn ] || exit 1; \
  fi; \
fi
endef

# Refresh the English catalog after changing user-visible text; then translate the new entries.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F gridapp/translations/babel.cfg -k _l -k lazy_gettext \
	  -o gridapp/translations/messages.pot --no-location --sort-output --project gridapp gridapp templates
	$(BIN)/pybabel update -i gridapp/translations/messages.pot -d gridapp/translations --no-fuzzy-matching
