"""The Khmer catalogues pass `msgfmt --check` without a warning (make check
fails only on its errors), and the admin scripts' one, which `make messages`
writes from nothing, is written so: whole header, and no change when a run
adds nothing (no spurious diff)."""

import shutil
import subprocess
from pathlib import Path

import polib
import pytest

from campaigns.management.commands.update_translations import Command
from tests.conftest import IN_CI

CATALOGUES = Path(__file__).resolve().parents[2] / "locale" / "km" / "LC_MESSAGES"


def msgfmt_warnings(po_path: Path) -> str:
    if shutil.which("msgfmt") is None:  # `make check` needs it too; CI installs it
        (pytest.fail if IN_CI else pytest.skip)("this test needs GNU gettext's msgfmt")
    checked = subprocess.run(
        ["msgfmt", "--check", "-o", "/dev/null", str(po_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    return checked.stderr


@pytest.mark.parametrize("name", ["django.po", "djangojs.po"])
def test_the_committed_catalogues_pass_msgfmt_check_without_a_warning(name: str) -> None:
    assert msgfmt_warnings(CATALOGUES / name) == ""


def test_the_javascript_catalogue_written_afresh_has_a_whole_header_and_is_stable(
    tmp_path: Path,
) -> None:
    header = polib.pofile(str(CATALOGUES / "django.po")).metadata
    po_path = tmp_path / "djangojs.po"
    Command()._javascript_save(po_path, header=header)
    assert msgfmt_warnings(po_path) == ""
    first = po_path.read_text()
    Command()._javascript_save(po_path, header=header)
    assert po_path.read_text() == first
    # A translator's name stays.
    po_path.write_text(first.replace("Sitthi Khmer translation", "Sok Dara <dara@example.org>"))
    Command()._javascript_save(po_path, header=header)
    assert '"Last-Translator: Sok Dara <dara@example.org>' in po_path.read_text()
