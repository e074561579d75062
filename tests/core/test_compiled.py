"""core.compiled: the SQL the ORM writes, kept per process, reads and writes
what the ORM itself would (on SQLite here, on PostgreSQL in CI)."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import F, Model
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import countlog
from core.compiled import (
    MARKER,
    CompiledRead,
    delete_row,
    insert_instance,
    insert_row,
    insert_write,
    update_row,
    update_write,
    writes_run,
)
from outbox.models import Message
from signatures.links import LOCKED_READ, READ
from signatures.models import CountEvent, Signature, Submission, TallyDelta
from signatures.tallies import RECENT_SIGNERS
from tests.factories import make_campaign, make_signature

pytestmark = pytest.mark.django_db


def test_a_read_gives_the_models_instance_with_converted_fields_and_its_annotation() -> None:
    campaign = make_campaign()
    signature = make_signature(campaign, email="sok@example.org", answers={"a": "ខ្មែរ"})

    read = READ.first(signature.pk)

    assert read == signature
    assert read is not None
    assert read.email == "sok@example.org"  # decrypted, as the ORM's read would
    assert read.answers == {"a": "ខ្មែរ"}  # a dict, not JSON text
    assert read.campaign_slug == campaign.slug  # type: ignore[attr-defined]
    assert read.created_at == Signature.objects.get(pk=signature.pk).created_at
    assert READ.first(signature.pk + 1000) is None


def test_the_first_run_and_the_later_ones_make_the_same_instance_as_the_orm() -> None:
    """The first run of a read goes through RawQuerySet; later runs make the
    instance from the kept plan: every field, converted, and the annotation
    come out the same either way, and as the ORM's own get() gives them."""
    campaign = make_campaign()
    signature = make_signature(
        campaign, email="sok@example.org", answers={"a": "ខ្មែរ"}, country="KH", city="Phnom Penh"
    )
    fresh = CompiledRead(
        lambda pk: Signature.objects.annotate(campaign_slug=F("campaign__slug")).filter(pk=pk)[:1]
    )

    first, later = fresh.first(signature.pk), fresh.first(signature.pk)

    expected = Signature.objects.get(pk=signature.pk)
    for read in (first, later):
        assert read is not None
        for field in Signature._meta.concrete_fields:
            assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
        assert read.campaign_slug == campaign.slug  # type: ignore[attr-defined]
        assert read._state.adding is False and read._state.db == "default"
    assert later is not None and type(later.answers) is dict and later.email == "sok@example.org"
    assert fresh.first(signature.pk + 1000) is None


def test_each_call_reads_its_own_row_with_the_sql_written_once() -> None:
    campaign = make_campaign()
    first, second = make_signature(campaign), make_signature(campaign)
    READ.first(first.pk)  # written here, if not earlier in this process

    with CaptureQueriesContext(connection) as queries:
        assert READ.first(second.pk) == second
        assert READ.first(first.pk) == first
    assert len(queries) == 2
    assert queries[0]["sql"].replace(f"= {second.pk} ", "= ? ") == queries[1]["sql"].replace(
        f"= {first.pk} ", "= ? "
    )
    assert f"= {first.pk} " in queries[1]["sql"]


def test_the_locked_read_locks_where_the_database_can() -> None:
    campaign = make_campaign()
    signature = make_signature(campaign)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert LOCKED_READ.first(signature.pk) == signature
    locks = "FOR UPDATE" in queries[0]["sql"]
    assert locks == connection.features.has_select_for_update


@pytest.mark.django_db(transaction=True)
def test_the_locked_read_is_refused_outside_a_transaction() -> None:
    signature = make_signature(make_campaign())
    with transaction.atomic():
        LOCKED_READ.first(signature.pk)  # its SQL written, if not before
    # Outside a transaction the lock would end at once: refused, as by the ORM.
    with pytest.raises(TransactionManagementError):
        LOCKED_READ.first(signature.pk)
    assert READ.first(signature.pk) == signature


@pytest.mark.parametrize("model", [Signature, Message, Submission])
def test_the_models_written_here_have_no_save_or_signals_that_would_be_skipped(
    model: type[Model],
) -> None:
    assert model.save is Model.save and model.delete is Model.delete
    for signal in (pre_save, post_save, pre_delete, post_delete):
        assert not signal.has_listeners(model)


def test_a_queryset_without_the_marker_once_is_refused() -> None:
    twice = CompiledRead(lambda pk: Signature.objects.filter(pk=pk, campaign_id=pk))
    nowhere = CompiledRead(lambda pk: Signature.objects.filter(pk=1))
    for read in (twice, nowhere):
        with pytest.raises(ValueError, match="the marker is in"):
            read.first(1)
    assert -(2**31) <= MARKER < 0


def test_a_read_that_varies_in_nothing_is_run_without_a_value() -> None:
    campaign = make_campaign()
    oldest = make_signature(campaign, email="a@example.org")
    make_signature(campaign, email="b@example.org")
    fixed = CompiledRead(lambda _marker: Signature.objects.order_by("pk")[:1])

    assert fixed.first() == oldest
    assert fixed.first() == oldest  # the kept plan, as the ORM's
    with pytest.raises(ValueError, match="exactly when"):
        fixed.first(oldest.pk)  # nowhere to put it
    with pytest.raises(ValueError, match="exactly when"):
        READ.first()  # its queryset varies: a value is needed
    with pytest.raises(ValueError, match="exactly when"):  # the same before its SQL is written
        CompiledRead(lambda pk: Signature.objects.filter(pk=pk)).first()


def test_recent_signers_are_the_public_ones_newest_first() -> None:
    campaign = make_campaign()
    other = make_campaign("other")
    now = timezone.now()
    shown = [
        make_signature(campaign, status="confirmed", show_publicly=True, full_name=f"Dara {n}")
        for n in range(3)
    ]
    for n, signature in enumerate(shown):
        Signature.objects.filter(pk=signature.pk).update(confirmed_at=now - timedelta(minutes=n))
    make_signature(campaign, status="confirmed", show_publicly=False, full_name="Hidden")
    make_signature(campaign, status="pending", show_publicly=True, full_name="Pending")
    make_signature(other, status="confirmed", show_publicly=True, full_name="Elsewhere")

    assert [name for name, _country in RECENT_SIGNERS.rows(campaign.pk)] == [
        "Dara 0",
        "Dara 1",
        "Dara 2",
    ]


def test_insert_row_stores_what_the_orm_would() -> None:
    campaign = make_campaign()
    moment = timezone.now()
    insert_row(
        TallyDelta, {"campaign": campaign.pk, "country": "FR", "delta": -1, "created_at": moment}
    )
    writes_run(
        [
            CountEvent.record_write(
                campaign_id=campaign.pk, kind="confirmed", country="", delta=1, receipt="R"
            )
        ]
    )

    [delta] = TallyDelta.objects.all()
    assert (delta.campaign_id, delta.country, delta.delta, delta.created_at) == (
        campaign.pk,
        "FR",
        -1,
        moment,
    )
    [event] = CountEvent.objects.all()
    assert (event.kind, event.country, event.delta, event.day) == (
        "confirmed",
        "",
        1,
        timezone.now().date(),
    )
    assert bytes(event.leaf_hash) == countlog.leaf_hash(event.leaf())  # what verifiers recompute


def test_update_row_writes_only_its_fields_prepared_as_save_would() -> None:
    campaign = make_campaign()
    signature = make_signature(campaign, email="sok@example.org", answers={"a": "1"})
    Signature.objects.filter(pk=signature.pk).update(city="Lyon")  # changed behind its back
    signature.email = "dara@example.org"
    signature.answers = {"b": "ខ"}
    signature.status = Signature.Status.CONFIRMED

    update_row(signature, ["email", "answers", "status"])
    update_row(signature, [])  # nothing to write: no statement

    stored: Any = Signature.objects.get(pk=signature.pk)
    assert (stored.email, stored.answers, stored.status, stored.city) == (
        "dara@example.org",
        {"b": "ខ"},
        "confirmed",
        "Lyon",  # a field not named is left as the row has it
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT email FROM signatures_signature WHERE id = %s", [signature.pk])
        assert "dara@example.org" not in str(cursor.fetchone()[0])  # encrypted at rest


def test_writes_run_together_store_what_they_store_one_by_one() -> None:
    """On PostgreSQL several writes go as one statement (one round trip),
    and the transaction's id comes back from that same statement; on
    another database they run in turn. Either way every row is written."""
    campaign = make_campaign()
    signature = make_signature(campaign, status="pending")
    signature.status = Signature.Status.CONFIRMED
    writes = [
        update_write(signature, ["status"]),
        insert_write(
            TallyDelta,
            {"campaign": campaign.pk, "country": "KH", "delta": 1, "created_at": timezone.now()},
        ),
        CountEvent.record_write(
            campaign_id=campaign.pk, kind="confirmed", country="KH", delta=1, receipt="R"
        ),
    ]

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        moved_in = writes_run([write for write in writes if write], transaction_id=True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_current_xact_id()::text")
                assert moved_in == int(cursor.fetchone()[0])  # this transaction's
    writes_made = [q for q in queries.captured_queries if not q["sql"].startswith("SELECT pg_")]
    assert len(writes_made) == (1 if connection.vendor == "postgresql" else 3)
    assert connection.vendor == "postgresql" or moved_in is None
    assert Signature.objects.get(pk=signature.pk).status == "confirmed"
    assert TallyDelta.objects.filter(campaign=campaign, country="KH", delta=1).count() == 1
    assert CountEvent.objects.filter(campaign=campaign, country="KH", kind="confirmed").count() == 1
    assert writes_run([]) is None  # nothing to write: no statement


def test_a_status_change_says_what_it_did_to_the_count_and_nothing_after() -> None:
    campaign = make_campaign()
    signature = make_signature(campaign, status="pending", country="FR")

    assert signature.confirm()
    assert signature.count_change is not None
    assert (signature.count_change.country, signature.count_change.delta) == ("FR", 1)
    assert not signature.confirm()  # already confirmed: nothing moved this time
    assert signature.count_change is None
    assert signature.mark_suspect("test")
    assert signature.count_change is not None and signature.count_change.delta == -1


def test_insert_instance_stores_and_gives_back_what_create_would() -> None:
    campaign = make_campaign()
    fields: dict[str, Any] = {
        "campaign": campaign,
        "full_name": "សុខ ដារ៉ា",
        "email": "sok@example.org",
        "country": "KH",
        "answers": {"a": "ខ"},
        "ip_address": "2001:db8::1",
        "created_at": timezone.now() - timedelta(hours=1),
    }
    by_orm = Signature.objects.create(**fields, email_hash="1" * 64)
    signature = Signature(**fields, email_hash="2" * 64)

    insert_instance(signature)

    assert signature.pk is not None and signature.pk != by_orm.pk
    assert signature._state.adding is False and signature._state.db == "default"
    stored = Signature.objects.get(pk=signature.pk)
    for field in Signature._meta.concrete_fields:
        if field.name in {"id", "email_hash", "link_secret", "receipt"}:
            continue  # its own key, hash and random secrets
        assert getattr(stored, field.attname) == getattr(by_orm, field.attname), field.name
        assert getattr(stored, field.attname) == getattr(signature, field.attname), field.name
    assert stored.link_secret == signature.link_secret and stored.receipt == signature.receipt
    with pytest.raises(ValueError, match="new instance"):
        insert_instance(signature)  # saved already

    message = Message(key="test:insert", to="sok@example.org", subject="s", body_text="t")
    insert_instance(message)
    assert message.created_at is not None  # auto_now_add, as save() sets it
    assert Message.objects.get(pk=message.pk).created_at == message.created_at


def test_delete_row_deletes_that_row_alone_and_refuses_a_model_others_refer_to() -> None:
    campaign = make_campaign()
    kept, gone = (Submission.objects.create(campaign=campaign, payload="{}") for _ in range(2))

    delete_row(gone)

    assert list(Submission.objects.all()) == [kept]
    with pytest.raises(ValueError, match="referred to"):
        delete_row(campaign)  # signatures, questions ... refer to it: delete() must cascade
