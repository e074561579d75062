"""Fixtures for statement tests: staff in each role (data: tests/factories.py)."""

from typing import Any

import pytest

from tests.factories import make_staff

LEAD_PERMISSIONS = [
    f"statements.{codename}"
    for codename in ("view_statement", "add_statement", "change_statement", "submit_statement")
]
EDITOR_PERMISSIONS = [
    *LEAD_PERMISSIONS,
    "statements.review_statement",
    "statements.publish_statement",
]


@pytest.fixture
def lead(db: None) -> Any:
    """A campaign lead: writes and submits."""
    return make_staff(username="lead", permissions=LEAD_PERMISSIONS)


@pytest.fixture
def editor(db: None) -> Any:
    """An editor: reviews, publishes, unpublishes."""
    return make_staff(username="editor", permissions=EDITOR_PERMISSIONS)


@pytest.fixture
def outsider(db: None) -> Any:
    """Staff without any statement role."""
    return make_staff(username="outsider")
