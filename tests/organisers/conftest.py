"""Fixtures for organisers' tests; test data comes from tests/factories.py."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from tests.factories import make_campaign


@pytest.fixture
def campaign(db: None) -> Campaign:
    return make_campaign()
