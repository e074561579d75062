# Everyday verbs. Needs only Python 3.11+ and make: uv is bootstrapped into
# .tools/ when it is not installed.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
export UV_PYTHON_DOWNLOADS := never
# Bytecode is written (where the environment says not to, as this machine's
# does): every test process, worker and server then reads the apps compiled
# once, as the libraries are compiled once at install (--compile-bytecode),
# instead of compiling Django from source again (5-8 s of CPU a process).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help install run test check lint format worker beat bench messages compilemessages migrate demo pdf-fonts clean

help:
	@echo "make run      serve http://127.0.0.1:8000/ on embedded defaults, demo loaded"
	@echo "make test     run the whole test suite"
	@echo "make check    what CI checks besides tests: ruff, mypy, bandit, migrations, Khmer messages"
	@echo "make lint     make check, and pip-audit (needs the network)"
	@echo "make worker   a Celery worker (needs REDIS_URL)"
	@echo "make beat     the Celery scheduler (needs REDIS_URL)"
	@echo "make bench    benchmarks (needs DATABASE_URL and REDIS_URL)"
	@echo "make messages extract strings (and library messages we show) into locale/km"

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

install: $(VENV)/.synced

# The .mo files, compiled again only when a catalogue (or the install)
# changed: every `make test` and `make run` asks for them.
CATALOGUES := $(wildcard locale/*/LC_MESSAGES/*.po)
$(CATALOGUES:.po=.mo) &: $(CATALOGUES) $(VENV)/.synced
	$(MANAGE) compile_translations

compilemessages: $(CATALOGUES:.po=.mo)

migrate: install
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) load_demo

# The static fonts PDFs embed (core/pdf_fonts/), made from the variable fonts
# of the fontpkg packages: after upgrading one, run this and commit.
pdf-fonts: install
	$(PY) -m core.pdf_fonts_make

run: compilemessages demo
	$(MANAGE) runserver 127.0.0.1:8000

# Tests run in TEST_PROCESSES processes (pytest-xdist); tests that share one
# server or cluster stay together (xdist_group, --dist loadgroup).
TEST_PROCESSES ?= 3
test: compilemessages
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadgroup $(PYTEST_ARGS)

# Everything CI checks besides the tests; any finding fails.
check: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/bandit -q -c pyproject.toml -r config core campaigns signatures statements outbox organisers
	$(MANAGE) makemigrations --check --dry-run
	@# Every Khmer message translated, none fuzzy (msgfmt only warns about those),
	@# in the templates' and Python's catalogue and in the admin scripts' one.
	@for po in locale/km/LC_MESSAGES/django.po locale/km/LC_MESSAGES/djangojs.po; do \
		msgfmt --check --statistics -o /dev/null $$po || exit 1; \
		test -z "$$(msgattrib --only-fuzzy $$po)" || { echo "fuzzy Khmer messages in $$po"; exit 1; }; \
		test -z "$$(msgattrib --untranslated $$po)" || { echo "untranslated Khmer messages in $$po"; exit 1; }; \
	done

lint: check
	$(VENV)/bin/pip-audit --progress-spinner off $(PIP_AUDIT_ARGS)

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

worker: compilemessages
	$(VENV)/bin/celery -A config worker --loglevel INFO -Q $${CELERY_QUEUE:-sitthi}

beat: install
	$(VENV)/bin/celery -A config beat --loglevel INFO

bench: compilemessages
	$(PY) -m bench $(BENCH_ARGS)

messages: install
	$(MANAGE) update_translations

clean:
	rm -rf var/static var/mail .pytest_cache
