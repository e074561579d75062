"""Who may move a statement through draft → review → published, and the record of it."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from statements import services
from statements.models import Statement, Transition
from tests.factories import make_campaign, make_staff, make_statement
from tests.statements.conftest import EDITOR_PERMISSIONS

pytestmark = pytest.mark.django_db


def transition(statement: Statement, action: str, by: Any, **kwargs: Any) -> Transition:
    return services.statement_transition(statement=statement, action=action, by=by, **kwargs)


def test_campaign_lead_can_submit_but_cannot_publish(lead: Any, editor: Any, outsider: Any) -> None:
    statement = make_statement()
    transition(statement, "submit", lead)
    with pytest.raises(PermissionDenied):
        transition(statement, "publish", lead)
    with pytest.raises(PermissionDenied):
        transition(statement, "publish", outsider)
    statement.refresh_from_db()
    assert statement.status == Statement.Status.IN_REVIEW


def test_editor_can_publish_and_unpublish(lead: Any, editor: Any, outsider: Any) -> None:
    statement = make_statement()
    transition(statement, "submit", lead)
    transition(statement, "publish", editor)
    statement.refresh_from_db()
    assert statement.status == Statement.Status.PUBLISHED
    assert statement.published_at is not None
    for not_allowed in (lead, outsider):
        with pytest.raises(PermissionDenied):
            transition(statement, "unpublish", not_allowed)
    transition(statement, "unpublish", editor, comment="Wrong date")
    statement.refresh_from_db()
    assert statement.status == Statement.Status.DRAFT


def test_only_an_editor_sends_back_and_must_say_why(lead: Any, editor: Any, outsider: Any) -> None:
    from django.core.exceptions import ValidationError

    statement = make_statement()
    transition(statement, "submit", lead)
    for not_allowed in (lead, outsider):
        with pytest.raises(PermissionDenied):
            transition(statement, "send_back", not_allowed, comment="no")
    with pytest.raises(ValidationError):
        transition(statement, "send_back", editor, comment="")
    transition(statement, "send_back", editor, comment="Add the Khmer summary")
    statement.refresh_from_db()
    assert statement.status == Statement.Status.DRAFT


def test_each_transition_is_logged_with_who_when_and_comment(
    lead: Any, editor: Any, outsider: Any
) -> None:
    statement = make_statement()
    before = timezone.now()
    transition(statement, "submit", lead, comment="Ready")
    transition(statement, "send_back", editor, comment="Fix the date")
    transition(statement, "submit", lead)
    transition(statement, "publish", editor)
    log = list(statement.transitions.values_list("action", "by__username", "comment"))
    assert log == [
        ("submit", "lead", "Ready"),
        ("send_back", "editor", "Fix the date"),
        ("submit", "lead", ""),
        ("publish", "editor", ""),
    ]
    assert all(t.at >= before for t in statement.transitions.all())
    assert not statement.transitions.filter(by=outsider).exists()


def test_scheduled_statement_is_published_by_the_periodic_task(
    lead: Any, editor: Any, outsider: Any
) -> None:
    from statements.tasks import scheduled_publish

    statement = make_statement()
    transition(statement, "submit", lead)
    with pytest.raises(PermissionDenied):
        transition(statement, "schedule", lead, publish_at=timezone.now())
    transition(statement, "schedule", editor, publish_at=timezone.now() + timedelta(hours=1))
    assert scheduled_publish.delay().get() == 0
    Statement.objects.filter(pk=statement.pk).update(
        publish_at=timezone.now() - timedelta(minutes=1)
    )
    assert scheduled_publish.delay().get() == 1
    statement.refresh_from_db()
    assert statement.status == Statement.Status.PUBLISHED
    assert statement.transitions.get(action="publish").by == editor


def test_editing_a_published_statement_shows_updated_on(
    lead: Any, editor: Any, outsider: Any, client: Client
) -> None:
    statement = make_statement()
    transition(statement, "submit", lead)
    transition(statement, "publish", editor)
    client.force_login(editor)
    url = reverse("admin:statements_statement_change", args=[statement.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = page.context["adminform"].form.initial
    form_data = {
        key: value
        for key, value in data.items()
        if key
        in {
            "kind",
            "slug",
            "title_km",
            "title_en",
            "summary_km",
            "summary_en",
            "place_km",
            "place_en",
            "body_km",
            "body_en",
            "send_to_subscribers",
        }
    }
    form_data.update(
        {
            "date": "2013-09-01",
            "body_en": "A corrected English text.",
            "signatories-TOTAL_FORMS": "0",
            "signatories-INITIAL_FORMS": "0",
            "attachments-TOTAL_FORMS": "0",
            "attachments-INITIAL_FORMS": "0",
            "transitions-TOTAL_FORMS": "0",
            "transitions-INITIAL_FORMS": "0",
        }
    )
    response = client.post(url, form_data)
    assert response.status_code == 302, response.content[:2000]
    statement.refresh_from_db()
    assert statement.revised_at is not None
    public = client.get(statement.get_absolute_url().replace("/km/", "/en/"))
    assert b"Updated on" in public.content
    assert statement.transitions.filter(action="revise").count() == 1


def test_person_without_a_role_sees_nothing_of_statements_in_the_admin(
    lead: Any, editor: Any, outsider: Any, client: Client
) -> None:
    statement = make_statement()
    client.force_login(outsider)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert b"statements/statement" not in index.content
    assert client.get(reverse("admin:statements_statement_changelist")).status_code == 403
    assert (
        client.get(reverse("admin:statements_statement_change", args=[statement.pk])).status_code
        == 403
    )
    preview = reverse("admin:statements_statement_preview", args=[statement.pk, "en"])
    assert client.get(preview).status_code == 403
    client.force_login(lead)
    assert b"statements/statement" in client.get(reverse("admin:index")).content


def test_admin_buttons_offer_only_what_the_user_may_do(
    lead: Any, editor: Any, outsider: Any, client: Client
) -> None:
    statement = make_statement(status=Statement.Status.IN_REVIEW)
    url = reverse("admin:statements_statement_change", args=[statement.pk])
    client.force_login(lead)
    assert client.get(url).context["workflow_actions"] == []
    client.force_login(editor)
    actions = [action for action, _label in client.get(url).context["workflow_actions"]]
    assert actions == ["publish", "schedule", "send_back"]


def test_lead_posting_publish_to_the_admin_is_refused(
    lead: Any, editor: Any, outsider: Any, client: Client
) -> None:
    statement = make_statement(status=Statement.Status.IN_REVIEW)
    client.force_login(lead)
    url = reverse("admin:statements_statement_workflow", args=[statement.pk])
    assert client.post(url, {"action": "publish"}).status_code == 403
    statement.refresh_from_db()
    assert statement.status == Statement.Status.IN_REVIEW
    client.force_login(editor)
    assert client.post(url, {"action": "publish"}).status_code == 302
    statement.refresh_from_db()
    assert statement.status == Statement.Status.PUBLISHED


def test_admin_shows_both_languages_and_previews_each(
    lead: Any, editor: Any, outsider: Any, client: Client
) -> None:
    statement = make_statement()
    client.force_login(lead)
    page = client.get(reverse("admin:statements_statement_change", args=[statement.pk]))
    html = page.content.decode()
    assert 'name="title_km"' in html and 'name="title_en"' in html
    assert html.index('name="body_km"') < html.index('name="body_en"')
    for language, expected in (("km", statement.title_km), ("en", statement.title_en)):
        preview = client.get(
            reverse("admin:statements_statement_preview", args=[statement.pk, language])
        )
        assert preview.status_code == 200
        assert expected in preview.content.decode()
        assert f'<html lang="{language}">' in preview.content.decode()


def test_a_statement_page_shows_its_campaigns_and_finds_others_by_title(client: Client) -> None:
    """The campaigns a statement belongs to are shown; any other is found by
    typing its title, not listed: a site accumulates hundreds."""
    organiser = make_staff(
        username="organiser", permissions=[*EDITOR_PERMISSIONS, "campaigns.view_campaign"]
    )
    linked = make_campaign("wages", title_km="Fair wages", title_en="Fair wages")
    make_campaign("water", title_km="Clean water", title_en="Clean water")
    statement = make_statement(campaign=linked)
    client.force_login(organiser)
    page = client.get(reverse("admin:statements_statement_change", args=[statement.pk]))
    assert "Fair wages" in page.content.decode()
    assert "Clean water" not in page.content.decode()
    found = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "statements",
            "model_name": "statement",
            "field_name": "campaigns",
            "term": "water",
        },
    ).json()
    assert [result["text"] for result in found["results"]] == ["Clean water"]
