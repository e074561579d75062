"""Reviewers hear when a statement is sent for review, its author when it is
sent back: one e-mail each through the outbox, per move, in their language;
the admin front page counts what waits for review."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from core import roles
from core.models import StaffLanguage
from outbox.models import Message
from statements import services
from statements.models import Statement, Transition
from tests.factories import make_staff, make_statement, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def move(statement: Statement, action: str, by: Any, comment: str = "") -> Transition:
    return services.statement_transition(statement=statement, action=action, by=by, comment=comment)


def mail_to(user: Any) -> list[Message]:
    return [message for message in Message.objects.order_by("pk") if message.to == user.email]


@pytest.fixture
def reviewers() -> list[Any]:
    organiser = make_staff(roles.ORGANISER, username="organiser")
    reviewer = make_staff(
        username="reviewer",
        permissions=["statements.view_statement", "statements.review_statement"],
    )
    return [organiser, reviewer]


def test_submitting_tells_each_reviewer_once_and_nobody_else(
    lead: Any, reviewers: list[Any], outsider: Any, mailoutbox: list[Any]
) -> None:
    another_lead = make_staff(roles.CAMPAIGN_LEAD)
    inactive = make_staff(roles.ORGANISER)
    inactive.is_active = False
    inactive.save()
    statement = make_statement(created_by=lead)
    move(statement, "submit", lead, comment="Ready for the press")
    for reviewer in reviewers:
        [message] = mail_to(reviewer)
        assert message.status == Message.Status.SENT
        assert "Public statement" in message.body_text or "សេចក្តីថ្លែងការណ៍" in message.body_text
        assert f"/admin/statements/statement/{statement.pk}/change/" in message.body_text
        assert "Ready for the press" in message.body_text
    for nobody in (lead, outsider, another_lead, inactive):
        assert mail_to(nobody) == []
    assert len(mailoutbox) == 2


def test_sending_back_tells_the_author_with_the_comment(
    lead: Any, editor: Any, reviewers: list[Any], outsider: Any
) -> None:
    statement = make_statement(created_by=lead)
    move(statement, "submit", lead)
    move(statement, "send_back", editor, comment="Add the Khmer summary")
    [message] = mail_to(lead)
    assert "Add the Khmer summary" in message.body_text
    assert f"/admin/statements/statement/{statement.pk}/change/" in message.body_text
    assert mail_to(outsider) == []
    assert all(len(mail_to(reviewer)) == 1 for reviewer in reviewers)  # the submit only


def test_a_second_round_is_a_second_mail_and_repeating_one_sends_nothing(
    lead: Any, editor: Any, reviewers: list[Any]
) -> None:
    statement = make_statement(created_by=lead)
    submitted = move(statement, "submit", lead)
    move(statement, "send_back", editor, comment="Fix the date")
    move(statement, "submit", lead)
    assert all(len(mail_to(reviewer)) == 2 for reviewer in reviewers)
    # The notification of one move queued again (a retried task, a double
    # click that reached the server) is the same outbox key: nothing more.
    services.review_notifications_queue(transition=submitted)
    assert all(len(mail_to(reviewer)) == 2 for reviewer in reviewers)


def test_a_refused_move_tells_nobody(lead: Any, editor: Any, reviewers: list[Any]) -> None:
    statement = make_statement(created_by=lead)
    move(statement, "submit", lead)
    with pytest.raises(ValidationError):
        move(statement, "submit", lead)
    with pytest.raises(ValidationError):
        move(statement, "send_back", editor, comment="")
    assert all(len(mail_to(reviewer)) == 1 for reviewer in reviewers)
    assert mail_to(lead) == []


def test_publishing_and_scheduling_do_not_notify_reviewers(
    lead: Any, editor: Any, reviewers: list[Any]
) -> None:
    statement = make_statement(created_by=lead)
    move(statement, "submit", lead)
    move(statement, "publish", editor)
    assert all(len(mail_to(reviewer)) == 1 for reviewer in reviewers)
    assert mail_to(lead) == []


def test_each_mail_is_in_the_recipients_language_else_khmer(
    lead: Any, editor: Any, reviewers: list[Any]
) -> None:
    organiser, reviewer = reviewers
    StaffLanguage.objects.create(user=reviewer, language="en")
    StaffLanguage.objects.create(user=lead, language="en")
    statement = make_statement(created_by=lead)
    move(statement, "submit", lead)
    [english] = mail_to(reviewer)
    [khmer] = mail_to(organiser)  # never said: Khmer
    assert english.headers["Content-Language"] == "en"
    assert "waiting for your review" in english.body_text
    assert "/en/admin/" in english.body_text
    assert khmer.headers["Content-Language"] == "km"
    assert "/km/admin/" in khmer.body_text
    assert "waiting for your review" not in khmer.body_text
    assert "សេចក្តីថ្លែងការណ៍" in khmer.subject
    move(statement, "send_back", editor, comment="Shorter, please")
    [sent_back] = mail_to(lead)
    assert sent_back.headers["Content-Language"] == "en"
    assert "sent back" in sent_back.subject.lower()


def test_signing_in_remembers_the_language_for_later_mail(lead: Any) -> None:
    client = Client()
    client.post("/en/accounts/login/", {"login": lead.email, "password": "x"})  # wrong password
    assert not StaffLanguage.objects.filter(user=lead).exists()
    from tests.factories import PASSWORD

    client.post("/en/accounts/login/", {"login": lead.email, "password": PASSWORD})
    assert StaffLanguage.objects.get(user=lead).language == "en"
    client.post("/en/accounts/logout/")
    client.post("/km/accounts/login/", {"login": lead.email, "password": PASSWORD})
    assert StaffLanguage.objects.get(user=lead).language == "km"


# --- The admin front page -----------------------------------------------------


def test_reviewers_see_how_many_statements_wait_for_review(
    lead: Any, reviewers: list[Any], outsider: Any
) -> None:
    for number in range(3):
        statement = make_statement(f"waiting-{number}", created_by=lead)
        if number < 2:
            move(statement, "submit", lead)
    organiser, reviewer = reviewers
    for user in (organiser, reviewer):
        client = Client()
        sign_in(client, user)
        page = client.get("/en/admin/").content.decode()
        assert 'id="statements-waiting"' in page
        section = page.split('id="statements-waiting"')[1].split("</div>")[0]
        assert "2 statements are waiting for review" in section
        assert "/en/admin/statements/statement/?status__exact=in_review" in section
    khmer = Client()
    sign_in(khmer, organiser)
    section = khmer.get("/km/admin/").content.decode().split('id="statements-waiting"')[1]
    assert "២" in section.split("</div>")[0]
    for user in (lead, outsider):
        client = Client()
        sign_in(client, user)
        assert 'id="statements-waiting"' not in client.get("/en/admin/").content.decode()


def test_nothing_waiting_shows_nothing(reviewers: list[Any]) -> None:
    client = Client()
    sign_in(client, reviewers[0])
    assert 'id="statements-waiting"' not in client.get("/en/admin/").content.decode()
