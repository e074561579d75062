"""Who may open what: every organisers' page and export against every role.

Refused means 403, or a redirect to sign in (the admin's answer to people
who are not staff); allowed means 200.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.urls import reverse

from campaigns.models import Campaign, CampaignLead
from core import roles
from core.models import AuditEntry
from organisers import exports
from organisers.models import GeneratedFile, JobStatus
from signatures.models import Signature
from tests.factories import make_campaign, make_signature, make_staff, sign_in

ORGANISER = "organiser with two-factor"
ORGANISER_NO_2FA = "organiser without two-factor"
LEAD = "campaign lead"
MODERATOR = "moderator"
VIEWER = "viewer"
STAFF_NO_ROLE = "staff with no role"
OUTSIDER = "signed-in outsider"
EVERYONE = [ORGANISER, ORGANISER_NO_2FA, LEAD, MODERATOR, VIEWER, STAFF_NO_ROLE, OUTSIDER]
ORGANISERS = {ORGANISER, ORGANISER_NO_2FA}
DASHBOARD_ROLES = ORGANISERS | {LEAD, MODERATOR, VIEWER}


def _users() -> dict[str, Any]:
    return {
        ORGANISER: make_staff(roles.ORGANISER, two_factor=True),
        ORGANISER_NO_2FA: make_staff(roles.ORGANISER),
        LEAD: make_staff(roles.CAMPAIGN_LEAD, two_factor=True),
        MODERATOR: make_staff(roles.MODERATOR, two_factor=True),
        VIEWER: make_staff(roles.VIEWER, two_factor=True),
        STAFF_NO_ROLE: make_staff(None, two_factor=True),
        OUTSIDER: make_staff(None, staff=False),
    }


# (page, method, url, who may open it)
Page = tuple[str, str, Callable[[Campaign, Signature], str], set[str]]
PAGES: list[Page] = [
    ("admin index", "get", lambda c, s: reverse("admin:index"), set(EVERYONE) - {OUTSIDER}),
    (
        "signature list",
        "get",
        lambda c, s: reverse("admin:signatures_signature_changelist"),
        ORGANISERS | {MODERATOR},
    ),
    (
        "signature page",
        "get",
        lambda c, s: reverse("admin:signatures_signature_change", args=[s.pk]),
        ORGANISERS | {MODERATOR},
    ),
    (
        "audit log",
        "get",
        lambda c, s: reverse("admin:core_auditentry_changelist"),
        ORGANISERS,
    ),
    (
        "signing settings",
        "get",
        lambda c, s: reverse("admin:signatures_signingsettings_changelist"),
        ORGANISERS,
    ),
    (
        "domain rules",
        "get",
        lambda c, s: reverse("admin:signatures_domainrule_changelist"),
        ORGANISERS,
    ),
    ("IP rules", "get", lambda c, s: reverse("admin:signatures_iprule_changelist"), ORGANISERS),
    (
        "invalidation jobs",
        "get",
        lambda c, s: reverse("admin:organisers_invalidation_changelist"),
        ORGANISERS | {MODERATOR},
    ),
    *[
        (
            f"{label} list",
            "get",
            lambda c, s, label=label: reverse(f"admin:{label.replace('.', '_')}_changelist"),
            ORGANISERS,
        )
        for label in (
            "outbox.message",
            "auth.user",
            "auth.group",
            "mfa.authenticator",
            "account.emailaddress",
            "campaigns.campaignlead",
            "organisers.generatedfile",
        )
    ],
    *[
        (
            f"{label} list",
            "get",
            lambda c, s, label=label: reverse(f"admin:{label.replace('.', '_')}_changelist"),
            ORGANISERS | {LEAD},  # statements and their press contacts
        )
        for label in ("statements.statement", "statements.presscontact")
    ],
    (
        "campaign list",
        "get",
        lambda c, s: reverse("admin:campaigns_campaign_changelist"),
        DASHBOARD_ROLES,
    ),
    (
        "campaign page",
        "get",
        lambda c, s: reverse("admin:campaigns_campaign_change", args=[c.pk]),
        DASHBOARD_ROLES,
    ),
    ("dashboards", "get", lambda c, s: reverse("organisers:index"), DASHBOARD_ROLES),
    (
        "dashboard",
        "get",
        lambda c, s: reverse("organisers:dashboard", args=[c.slug]),
        DASHBOARD_ROLES,
    ),
    *[
        (
            f"counts by {by} ({extension})",
            "get",
            lambda c, s, by=by, extension=extension: reverse(
                "organisers:count_export", args=[c.slug, by, extension]
            ),
            DASHBOARD_ROLES,
        )
        for by in ("country", "province", "day")
        for extension in ("csv", "xlsx")
    ],
    (
        "invalidation by criteria",
        "get",
        lambda c, s: reverse("organisers:invalidation_new", args=[c.slug]),
        ORGANISERS | {MODERATOR},
    ),
    (
        "paper import",
        "get",
        lambda c, s: reverse("organisers:paper_import", args=[c.slug]),
        ORGANISERS,
    ),
    (
        "delivery document",
        "get",
        lambda c, s: reverse("organisers:delivery", args=[c.slug]),
        ORGANISERS,
    ),
    (
        "full signature export",
        "post",
        lambda c, s: reverse("organisers:signature_export", args=[c.slug]),
        {ORGANISER},
    ),
    ("prepared files", "get", lambda c, s: reverse("organisers:files"), ORGANISERS),
]


@pytest.mark.django_db
def test_every_page_and_export_is_open_to_exactly_its_roles() -> None:
    campaign = make_campaign()
    signature = make_signature(campaign, email="dara.sok@example.org", phone="+33612345678")
    users = _users()
    CampaignLead.objects.create(user=users[LEAD], campaign=campaign)
    # One signed-in session per role, as a person goes from page to page
    # (signing in again for each of the 224 requests was a third of the time).
    clients = {who: Client() for who in EVERYONE}
    for who, client in clients.items():
        sign_in(client, users[who])
    wrong: list[str] = []
    for page, method, url_of, allowed in PAGES:
        url = url_of(campaign, signature)
        for who, client in clients.items():
            response = getattr(client, method)(url)
            if who in allowed:
                ok = response.status_code == 200
            else:
                ok = response.status_code == 403 or (
                    response.status_code == 302 and "login" in response["Location"]
                )
            if not ok:
                wrong.append(f"{page} / {who}: {response.status_code}")
    assert wrong == []


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in_everywhere() -> None:
    campaign = make_campaign()
    signature = make_signature(campaign)
    for page, method, url_of, _allowed in PAGES:
        response = getattr(Client(), method)(url_of(campaign, signature))
        assert response.status_code == 302, page
        assert "/accounts/login/" in response["Location"] or "login" in response["Location"]


@pytest.mark.django_db
def test_personal_data_shows_only_with_the_permission_and_two_factor() -> None:
    campaign = make_campaign()
    signature = make_signature(campaign, email="dara.sok@example.org", phone="+33612345678")
    url = reverse("admin:signatures_signature_change", args=[signature.pk])
    shown = {}
    for who, user in {
        ORGANISER: make_staff(roles.ORGANISER, two_factor=True),
        ORGANISER_NO_2FA: make_staff(roles.ORGANISER),
        MODERATOR: make_staff(roles.MODERATOR, two_factor=True),
    }.items():
        client = Client()
        sign_in(client, user)
        page = client.get(url).content.decode()
        list_page = client.get(reverse("admin:signatures_signature_changelist")).content.decode()
        shown[who] = (
            "dara.sok@example.org" in page,
            "+33612345678" in page,
            "dara.sok@example.org" in list_page,
            "d•••@example.org" in list_page,
        )
    assert shown[ORGANISER] == (True, True, True, False)
    assert shown[ORGANISER_NO_2FA] == (False, False, False, True)
    assert shown[MODERATOR] == (False, False, False, True)


@pytest.mark.django_db
def test_looking_at_personal_data_is_in_the_audit_log_with_the_address() -> None:
    campaign = make_campaign()
    signature = make_signature(campaign)
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    client = Client(REMOTE_ADDR="203.0.113.9")
    sign_in(client, organiser)
    client.get(reverse("admin:signatures_signature_change", args=[signature.pk]))
    entry = AuditEntry.objects.get(action=AuditEntry.Action.VIEWED_PERSONAL_DATA)
    assert entry.user == organiser
    assert entry.ip_address == "203.0.113.9"
    assert entry.object_id == str(signature.pk)


@pytest.mark.django_db
def test_the_audit_log_cannot_be_edited_or_deleted_even_by_an_organiser() -> None:
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    entry = AuditEntry.objects.create(action=AuditEntry.Action.OTHER, detail="kept")
    client = Client()
    sign_in(client, organiser)
    change_url = reverse("admin:core_auditentry_change", args=[entry.pk])
    assert client.get(change_url).status_code == 200  # viewable
    client.post(change_url, {"detail": "rewritten"})
    assert (
        client.post(
            reverse("admin:core_auditentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert client.get(reverse("admin:core_auditentry_add")).status_code == 403
    entry.refresh_from_db()
    assert entry.detail == "kept"


@pytest.mark.django_db
def test_a_campaign_lead_edits_only_the_campaigns_they_lead() -> None:
    led = make_campaign("led")
    other = make_campaign("other")
    lead = make_staff(roles.CAMPAIGN_LEAD)
    CampaignLead.objects.create(user=lead, campaign=led)
    client = Client()
    sign_in(client, lead)
    listing = client.get(reverse("admin:campaigns_campaign_changelist")).content.decode()
    assert "/led/" in listing or ">led<" in listing
    assert ">other<" not in listing
    assert client.get(reverse("admin:campaigns_campaign_change", args=[other.pk])).status_code in {
        302,
        403,
    }
    assert not lead.has_perm("statements.publish_statement")


@pytest.mark.django_db
def test_admin_changes_to_campaigns_land_in_the_audit_log() -> None:
    campaign = make_campaign()
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    client = Client(REMOTE_ADDR="192.0.2.44")
    sign_in(client, organiser)
    response = client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "pause_signing", "_selected_action": [campaign.pk]},
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.signing_paused
    entry = AuditEntry.objects.get(object_type="campaigns.campaign", object_id=str(campaign.pk))
    assert (entry.user, entry.ip_address, entry.action) == (
        organiser,
        "192.0.2.44",
        AuditEntry.Action.CHANGED,
    )


@pytest.mark.django_db
def test_roles_carry_the_statements_permissions_as_specified() -> None:
    organiser = make_staff(roles.ORGANISER)
    lead = make_staff(roles.CAMPAIGN_LEAD)
    moderator = make_staff(roles.MODERATOR)
    viewer = make_staff(roles.VIEWER)
    assert organiser.has_perm("statements.publish_statement")
    assert organiser.has_perm("statements.review_statement")
    assert lead.has_perm("statements.change_statement")
    assert lead.has_perm("statements.submit_statement")
    assert not lead.has_perm("statements.publish_statement")
    assert not moderator.has_perm("statements.change_statement")
    assert moderator.has_perm("signatures.change_signature")
    assert not moderator.has_perm(roles.PERSONAL_DATA_PERMISSION)
    assert viewer.get_all_permissions() == {"campaigns.view_campaign", roles.DASHBOARD_PERMISSION}


@pytest.mark.django_db
def test_a_session_signed_in_without_the_code_sees_no_personal_data() -> None:
    campaign = make_campaign()
    make_signature(campaign)
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    client = Client()
    # Signed in with a password only (or enrolled TOTP during this session):
    # the session never passed the second factor.
    client.force_login(organiser)
    url = reverse("organisers:signature_export", args=[campaign.slug])
    assert client.post(url).status_code == 403
    sign_in(client, organiser)  # through the two-factor step
    assert client.post(url).status_code == 200


@pytest.mark.django_db
def test_the_two_factor_step_of_allauth_marks_the_session() -> None:
    from allauth.account.signals import authentication_step_completed

    organiser = make_staff(roles.ORGANISER, two_factor=True)
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = organiser
    authentication_step_completed.send(
        sender=type(organiser), request=request, user=organiser, method="password"
    )
    assert not roles.can_see_personal_data(request)
    authentication_step_completed.send(
        sender=type(organiser), request=request, user=organiser, method="mfa"
    )
    assert roles.can_see_personal_data(request)


@pytest.mark.django_db
def test_outside_a_web_request_personal_data_needs_a_named_system_access() -> None:
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    assert not roles.can_see_personal_data(None)
    assert not roles.can_see_personal_data(None, user=organiser)
    job = roles.SystemAccess.STAFF_JOB
    assert roles.can_see_personal_data(None, system=job, user=organiser)
    assert not roles.can_see_personal_data(None, system=job, user=make_staff(roles.ORGANISER))
    assert not roles.can_see_personal_data(None, system=job, user=make_staff(roles.MODERATOR))


@pytest.mark.django_db
def test_an_export_job_is_refused_when_its_owner_lost_the_right_meanwhile() -> None:
    campaign = make_campaign()
    make_signature(campaign)
    organiser = make_staff(roles.ORGANISER, two_factor=True)
    job = GeneratedFile.objects.create(
        kind=GeneratedFile.Kind.SIGNATURE_EXPORT, campaign=campaign, created_by=organiser
    )
    organiser.groups.clear()
    exports.export_build(job.pk)
    job.refresh_from_db()
    assert (job.status, job.file.name) == (JobStatus.FAILED, "")


@pytest.mark.django_db
def test_a_statement_submitted_for_review_is_in_the_audit_log() -> None:
    from datetime import date

    from statements.models import Statement

    statement = Statement.objects.create(
        slug="statement-one",
        title_en="Public statement",
        body_en="We ask for the right to vote.",
        date=date(2014, 3, 9),
    )
    lead = make_staff(roles.CAMPAIGN_LEAD)
    statement.submit(by=lead, comment="ready")
    entry = AuditEntry.objects.get(object_type="statements.statement")
    assert (entry.user, entry.object_id) == (lead, str(statement.pk))
    assert "ready" in entry.detail
