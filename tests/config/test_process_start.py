"""What a web or worker process imports when it starts: every process pays
for it at each start (a deploy, a worker restarted after a crash, each
Celery worker and gunicorn master the fault tests boot), so libraries only
a few requests or tasks need are imported by the code that uses them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

# Each cost a process 0.07 to 0.15 s of CPU to import (python -X importtime).
IMPORTED_WHEN_USED = ["openpyxl", "pypdf", "telegram", "httpx", "weasyprint", "khmercut"]

# One process for both tests: it starts as a web and worker process would,
# tells what it imported, then uses the features that need those libraries.
PROCESS = """
import contextlib, io, json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import config.wsgi  # a web process: Django set up, every URL and view imported
from config.celery import app
app.loader.import_default_modules()  # a worker: every app's tasks
print(json.dumps(sorted(sys.modules)))

from core import telegram_api
from organisers import delivery, exports
telegram_api.update_parse({"update_id": 1})
exports._xlsx_workbook("sheet")
with contextlib.suppress(Exception):  # not a PDF: pypdf is imported to say so
    delivery._page_count(io.BytesIO(b""))
print(json.dumps(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def imported() -> tuple[set[str], set[str]]:
    """The top-level packages imported at start, and after the features."""
    result = subprocess.run(
        [sys.executable, "-c", PROCESS],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    at_start, after_use = (
        {name.split(".")[0] for name in json.loads(line)}
        for line in result.stdout.splitlines()[-2:]
    )
    return at_start, after_use


def test_a_web_or_worker_process_starts_without_the_libraries_few_requests_need(
    imported: tuple[set[str], set[str]],
) -> None:
    at_start, _ = imported
    assert {"signatures", "organisers", "celery"} <= at_start  # it did start
    assert not at_start & set(IMPORTED_WHEN_USED)


def test_the_code_that_needs_them_imports_them(imported: tuple[set[str], set[str]]) -> None:
    """The check above would pass if nothing imported them at all: the
    functions that use them do (a broken PDF still imports pypdf)."""
    _, after_use = imported
    assert {"openpyxl", "pypdf", "telegram", "httpx"} <= after_use
