"""A signer who confirmed through Telegram and asked for news gets each
published statement there (title, summary, link), once, through the outbox
like the e-mail; /stop in the bot ends it. E-mail subscribers are unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from campaigns.models import Campaign
from outbox.models import Message
from signatures.models import Signature
from signatures.telegram import user_hash
from statements import services
from statements.models import Statement
from tests.factories import make_campaign, make_signature, make_statement
from tests.telegram_fake import TEST_WEBHOOK_SECRET, FakeTelegram, telegram_api  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIBER, QUIET, WITHDRAWN, ENGLISH = 3001, 3002, 3003, 3004


def make_telegram_signer(
    campaign: Campaign, user_id: int, *, wants_updates: bool = True, **fields: Any
) -> Signature:
    """A signature confirmed by pressing Start in the bot (no e-mail)."""
    return make_signature(
        campaign,
        email="",
        channel=Signature.Channel.TELEGRAM,
        telegram_hash=user_hash(user_id),
        telegram_chat=str(user_id),
        wants_updates=wants_updates,
        **fields,
    )


def people(campaign: Campaign) -> None:
    make_telegram_signer(campaign, SUBSCRIBER, language="en")
    make_telegram_signer(campaign, QUIET, wants_updates=False)
    make_telegram_signer(campaign, WITHDRAWN).withdraw()  # confirmed, then taken back
    make_signature(campaign, email="dara@example.org", wants_updates=True, language="km")


def publish(statement: Statement, editor: Any) -> None:
    services.statement_transition(statement=statement, action="submit", by=editor)
    services.statement_transition(statement=statement, action="publish", by=editor)


def news_statement(slug: str, campaign: Campaign) -> Statement:
    return make_statement(
        slug,
        title_en=f"Statement {slug}",
        title_km=f"សេចក្តីថ្លែងការណ៍ {slug}",
        summary_en="We ask the NEC to open registration abroad.",
        summary_km="យើងស្នើ គ.ជ.ប បើកការចុះឈ្មោះអ្នកបោះឆ្នោតនៅក្រៅប្រទេស។",
        send_to_subscribers=True,
        campaign=campaign,
    )


def email_hash_of_subscriber(campaign: Campaign) -> str:
    return str(Signature.objects.get(campaign=campaign, channel=Signature.Channel.EMAIL).email_hash)


def texts_to(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [str(message["text"]) for message in telegram.sent_messages(chat_id=chat_id)]


def test_an_opted_in_telegram_signer_gets_the_statement_once_in_their_language(
    telegram_api: FakeTelegram,  # noqa: F811
    editor: Any,
    mailoutbox: list[Any],
) -> None:
    campaign = make_campaign()
    people(campaign)
    statement = news_statement("first", campaign)
    publish(statement, editor)
    [text] = [str(m["text"]) for m in telegram_api.wait_for_messages(1, chat_id=SUBSCRIBER)]
    assert text.startswith("Statement first")
    assert "We ask the NEC to open registration abroad." in text
    assert f"/en/statements/{statement.slug}/" in text
    assert "/stop" in text
    # Not to who did not ask for news, nor to who withdrew.
    assert texts_to(telegram_api, QUIET) == []
    assert texts_to(telegram_api, WITHDRAWN) == []
    assert len(telegram_api.sent_messages()) == 1
    # E-mail subscribers get their e-mail as before, in their language.
    [mail] = mailoutbox
    assert mail.to == ["dara@example.org"] and mail.subject == "សេចក្តីថ្លែងការណ៍ first"
    # Sending again (a redelivered job, a retried batch) sends nothing twice.
    services.statement_send(statement_id=statement.pk)
    batch = [list(item) for item in services.recipients_of(statement=statement)]
    assert services.statement_send_batch(statement_id=statement.pk, recipients=batch) == 2
    assert len(telegram_api.sent_messages()) == 1
    assert len(mailoutbox) == 1
    keys = set(
        Message.objects.filter(key__startswith=f"statement:{statement.pk}:").values_list(
            "key", "channel"
        )
    )
    assert keys == {
        (f"statement:{statement.pk}:telegram:{user_hash(SUBSCRIBER)}", Message.Channel.TELEGRAM),
        (
            f"statement:{statement.pk}:signer:{email_hash_of_subscriber(campaign)}",
            Message.Channel.EMAIL,
        ),
    }


def test_a_khmer_signer_reads_the_statement_in_khmer(
    telegram_api: FakeTelegram,  # noqa: F811
    editor: Any,
) -> None:
    campaign = make_campaign()
    make_telegram_signer(campaign, SUBSCRIBER, language="km")
    # In the same batch, after the Khmer one: each reads their own language.
    make_telegram_signer(campaign, ENGLISH, language="en")
    statement = news_statement("first", campaign)
    publish(statement, editor)
    [message] = telegram_api.wait_for_messages(1, chat_id=SUBSCRIBER)
    assert str(message["text"]).startswith("សេចក្តីថ្លែងការណ៍ first")
    assert "គ.ជ.ប" in str(message["text"])
    assert f"/km/statements/{statement.slug}/" in str(message["text"])
    [english] = telegram_api.wait_for_messages(1, chat_id=ENGLISH)
    assert str(english["text"]).startswith("Statement first")
    assert f"/en/statements/{statement.slug}/" in str(english["text"])


def test_one_person_who_signed_two_of_its_campaigns_gets_it_once(
    telegram_api: FakeTelegram,  # noqa: F811
    editor: Any,
) -> None:
    first, second = make_campaign(), make_campaign("second")
    make_telegram_signer(first, SUBSCRIBER)
    make_telegram_signer(second, SUBSCRIBER)
    statement = news_statement("both", first)
    statement.campaigns.add(second)
    publish(statement, editor)
    telegram_api.wait_for_messages(1, chat_id=SUBSCRIBER)
    assert len(texts_to(telegram_api, SUBSCRIBER)) == 1


def test_after_stop_no_statement_reaches_the_chat(
    telegram_api: FakeTelegram,  # noqa: F811
    editor: Any,
) -> None:
    campaign = make_campaign()
    make_telegram_signer(campaign, SUBSCRIBER, language="en")
    publish(news_statement("before", campaign), editor)
    telegram_api.wait_for_messages(1, chat_id=SUBSCRIBER)
    # The signer sends /stop to the bot: through the webhook, as Telegram delivers it.
    response = Client().post(
        "/telegram/webhook/",
        json.dumps(telegram_api.update_for_text("/stop", user_id=SUBSCRIBER)),
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=TEST_WEBHOOK_SECRET,
    )
    assert response.status_code == 200
    telegram_api.wait_for_messages(2, chat_id=SUBSCRIBER)  # the bot's "done"
    assert not Signature.objects.get().wants_updates
    after = news_statement("after", campaign)
    publish(after, editor)
    # A batch planned before /stop reads the opt-out again and sends nothing.
    services.statement_send_batch(
        statement_id=after.pk, recipients=[["telegram", user_hash(SUBSCRIBER)]]
    )
    texts = texts_to(telegram_api, SUBSCRIBER)
    assert len(texts) == 2
    assert not any("Statement after" in text for text in texts)
    assert not Message.objects.filter(key__startswith=f"statement:{after.pk}:").exists()
