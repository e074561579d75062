"""Admin-editable rules reach the signing code through signatures.policy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from core import roles
from core.rates import rate_window
from signatures.models import DomainRule, IpRule, RuleAction, SigningSettings
from signatures.policy import (
    rate_limits,
    signing_pause_message,
    submission_marks,
    submission_verdict,
)
from tests.factories import make_campaign, make_staff, sign_in

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_blocked_held_and_allowed_domains_and_ranges_decide_the_verdict() -> None:
    campaign = make_campaign()
    other = make_campaign("other")
    DomainRule.objects.create(domain="@Spam.Example", action=RuleAction.BLOCK)
    DomainRule.objects.create(domain="temp-mail.example", action=RuleAction.SUSPECT)
    IpRule.objects.create(network="203.0.113.0/24", action=RuleAction.SUSPECT)
    IpRule.objects.create(network="203.0.113.7", action=RuleAction.ALLOW)  # a community centre
    IpRule.objects.create(network="2001:db8::/32", action=RuleAction.BLOCK, campaign=other)

    def verdict(domain: str, ip: str | None) -> tuple[bool, bool]:
        result = submission_verdict(campaign=campaign, email_domain=domain, ip_address=ip)
        return result.blocked, bool(result.suspect_reason)

    assert verdict("example.org", "198.51.100.1") == (False, False)
    assert verdict("spam.example", None) == (True, False)
    assert verdict("mx.spam.example", "198.51.100.1") == (True, False)  # subdomains too
    assert verdict("notspam.example", None) == (False, False)
    assert verdict("temp-mail.example", None) == (False, True)
    assert verdict("example.org", "203.0.113.9") == (False, True)
    assert verdict("spam.example", "203.0.113.7") == (False, False)  # allow wins
    assert verdict("example.org", "2001:db8::5") == (False, False)  # another campaign's rule
    assert submission_verdict(
        campaign=other, email_domain="example.org", ip_address="2001:db8::5"
    ).blocked


@pytest.mark.django_db
def test_a_site_wide_pause_wins_over_the_campaign_and_shows_its_message() -> None:
    campaign = make_campaign()
    assert signing_pause_message(campaign) is None
    settings = SigningSettings.objects.create(
        signing_paused=True, paused_message_en="Paused while we check a bot wave."
    )
    with translation.override("en"):
        assert signing_pause_message(campaign) == "Paused while we check a bot wave."
    settings.signing_paused = False
    settings.save()
    campaign.signing_paused = True
    campaign.paused_message_en = "Paused for this campaign."
    campaign.save()
    with translation.override("en"):
        assert signing_pause_message(campaign) == "Paused for this campaign."


@pytest.mark.django_db
def test_rate_limits_come_from_the_admin_or_else_from_settings(settings: object) -> None:
    assert rate_limits().burst == settings.SIGNATURE_RATE_BURST  # type: ignore[attr-defined]
    SigningSettings.objects.create(rate_burst="3/m", rate_sustained="20/h")
    assert (rate_limits().burst, rate_limits().sustained) == ("3/m", "20/h")


@pytest.mark.parametrize(
    ("rate", "window"),
    [("10/m", (10, 60)), ("60/h", (60, 3600)), ("100/5m", (100, 300)), ("0/d", (0, 86400))],
)
def test_a_rate_reads_as_a_count_in_seconds(rate: str, window: tuple[int, int]) -> None:
    SigningSettings(rate_burst=rate).full_clean(exclude=["id"])  # raises if refused
    assert rate_window(rate) == window


@pytest.mark.parametrize("rate", ["lots", "10", "10/", "/m", "10/0m", "10/x", "10/-5m", "ten/m"])
def test_a_rate_that_is_not_a_count_in_seconds_is_refused(rate: str) -> None:
    with pytest.raises(ValidationError):
        SigningSettings(rate_burst=rate).full_clean(exclude=["id"])


@pytest.mark.parametrize("variable", ["SIGNATURE_RATE_BURST", "SIGNATURE_RATE_SUSTAINED"])
def test_a_bad_rate_in_the_environment_stops_the_server_at_start(
    variable: str, tmp_path: Path
) -> None:
    dropped = {"DATABASE_URL", "REDIS_URL", "PYTHONDONTWRITEBYTECODE"}
    env = {
        **{key: value for key, value in os.environ.items() if key not in dropped},
        variable: "10/0m",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "A signing rate must read like" in result.stderr and "'10/0m'" in result.stderr


@pytest.mark.django_db
def test_a_burst_and_a_sustained_limit_of_the_same_unit_count_apart(settings: Any) -> None:
    """Two windows of one length are still two windows: each signature
    counts once in each, not twice in one."""
    settings.SIGNATURE_RATE_BURST = "2/m"
    settings.SIGNATURE_RATE_SUSTAINED = "3/m"
    marks = [submission_marks(form_token="", client="203.0.113.5") for _ in range(4)]
    assert [mark.over_rate_limit for mark in marks] == [False, False, True, True]
    settings.SIGNATURE_RATE_BURST = "5/m"
    marks = [submission_marks(form_token="", client="203.0.113.6") for _ in range(4)]
    assert [mark.over_rate_limit for mark in marks] == [False, False, False, True]


@pytest.mark.django_db
def test_organisers_edit_the_rules_in_the_admin_and_bad_values_are_refused() -> None:
    client = Client()
    sign_in(client, make_staff(roles.ORGANISER))
    add_url = reverse("admin:signatures_iprule_add")
    refused = client.post(add_url, {"network": "not an address", "action": "block"})
    assert refused.status_code == 200 and not IpRule.objects.exists()
    client.post(add_url, {"network": "203.0.113.9/24", "action": "block"})
    assert IpRule.objects.get().network == "203.0.113.0/24"
    settings_url = reverse("admin:signatures_signingsettings_add")
    client.post(settings_url, {"rate_burst": "lots", "rate_sustained": ""})
    assert not SigningSettings.objects.exists()
    client.post(settings_url, {"rate_burst": "5/m", "rate_sustained": "", "signing_paused": "on"})
    assert SigningSettings.current().signing_paused
    assert client.get(settings_url).status_code == 403  # one row only
