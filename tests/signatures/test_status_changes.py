"""Status changes keep the count right: each change of whether a signature
counts writes exactly one TallyDelta."""

from django.db.models import Sum

from signatures.models import Signature, TallyDelta


def count_of(signature: Signature) -> int:
    return (
        TallyDelta.objects.filter(campaign=signature.campaign).aggregate(total=Sum("delta"))[
            "total"
        ]
        or 0
    )


def test_confirming_counts_once_even_when_repeated(signature_factory) -> None:
    signature = signature_factory()
    assert signature.confirm() is True
    assert signature.confirm() is False
    assert signature.status == Signature.Status.CONFIRMED
    assert signature.confirmed_at is not None
    assert count_of(signature) == 1


def test_withdrawing_uncounts_and_erases_personal_data(signature_factory) -> None:
    signature = signature_factory(phone="+33612345678", city="Lyon", show_publicly=True)
    signature.confirm()
    old_secret = signature.link_secret
    assert signature.withdraw() is True
    signature.refresh_from_db()
    assert signature.status == Signature.Status.WITHDRAWN
    assert (signature.full_name, signature.email, signature.phone, signature.city) == (
        "",
        "",
        "",
        "",
    )
    assert signature.email_hash is None
    assert signature.show_publicly is False
    assert signature.country == "FR"
    assert signature.link_secret != old_secret
    assert count_of(signature) == 0
    assert signature.withdraw() is False


def test_withdrawn_person_may_sign_again(signature_factory) -> None:
    first = signature_factory(email="dara@example.org")
    first.withdraw()
    second = signature_factory(email="dara@example.org")
    assert second.pk != first.pk


def test_invalidating_and_restoring_a_confirmed_signature(signature_factory) -> None:
    signature = signature_factory()
    signature.confirm()
    assert signature.invalidate("same person twice") is True
    assert signature.invalidation_reason == "same person twice"
    assert count_of(signature) == 0
    assert signature.restore() is True
    assert signature.status == Signature.Status.CONFIRMED
    assert count_of(signature) == 1


def test_restoring_an_unconfirmed_signature_waits_for_confirmation(signature_factory) -> None:
    signature = signature_factory()
    signature.invalidate("looks odd")
    signature.restore()
    assert signature.status == Signature.Status.PENDING
    assert count_of(signature) == 0


def test_a_suspect_signature_does_not_count_until_approved(signature_factory) -> None:
    signature = signature_factory()
    signature.confirm()
    assert signature.mark_suspect("rate limit") is True
    assert count_of(signature) == 0
    assert signature.approve() is True
    assert signature.status == Signature.Status.CONFIRMED
    assert count_of(signature) == 1


def test_a_suspect_that_confirms_stays_uncounted_until_approved(signature_factory) -> None:
    signature = signature_factory(status=Signature.Status.SUSPECT, suspect_reason="rate limit")
    assert signature.confirm() is True
    assert signature.status == Signature.Status.SUSPECT
    assert count_of(signature) == 0
    signature.approve()
    assert signature.status == Signature.Status.CONFIRMED
    assert count_of(signature) == 1


def test_approving_a_suspect_that_never_confirmed_waits_for_confirmation(
    signature_factory,
) -> None:
    signature = signature_factory(status=Signature.Status.SUSPECT)
    signature.approve()
    assert signature.status == Signature.Status.PENDING
    assert count_of(signature) == 0


def test_the_delta_carries_the_signers_country(signature_factory) -> None:
    signature = signature_factory(country="AU")
    signature.confirm()
    assert list(TallyDelta.objects.values_list("country", "delta")) == [("AU", 1)]
