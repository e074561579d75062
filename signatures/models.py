from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from campaigns.models import Campaign
from core import countlog
from core.compiled import Write, insert_write, update_write, writes_run
from core.crypto import EncryptedTextField
from core.rates import rate_valid
from outbox.models import Message
from outbox.services import messages_erase
from signatures import identity

# The campaign parameters kept from a signer's landing link (Signature.utm):
# which share or newsletter brought them, never who they are.
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


def new_link_secret() -> str:
    return secrets.token_urlsafe(16)


class SignatureQuerySet(models.QuerySet["Signature"]):
    def counted(self) -> SignatureQuerySet:
        """Signatures that count toward a campaign's total (Signature.COUNTED)."""
        return self.filter(status__in=Signature.COUNTED)

    def signed(self) -> SignatureQuerySet:
        """Everyone who signed and has not taken it back, counted or not."""
        return self.exclude(status=Signature.Status.WITHDRAWN)

    def standing(self) -> SignatureQuerySet:
        """Signatures that stand for their signer: neither withdrawn nor
        invalidated. A new signature by the same person (online, on paper, or
        a paper row corrected after its first version was ruled out) is a
        duplicate only of one of these; see `same_person`."""
        return self.exclude(status__in=[Signature.Status.WITHDRAWN, Signature.Status.INVALIDATED])

    def same_person(self, *, email_hash: str | None, name_key: str) -> SignatureQuerySet:
        """The duplicate rule, its one owner: the same canonical e-mail key,
        or, for a signer without an e-mail (paper), the same name key."""
        if email_hash:
            return self.filter(email_hash=email_hash)
        return self.filter(name_key=name_key)

    def people_among(
        self, *, email_hashes: set[str], name_keys: set[str]
    ) -> tuple[set[str], set[str]]:
        """`same_person` for many people at once (a paper sheet): which of
        these e-mail keys, and which of these name keys (people without an
        e-mail), already have a signature here. Two queries."""
        return (
            set(self.filter(email_hash__in=email_hashes).values_list("email_hash", flat=True)),
            set(self.filter(name_key__in=name_keys).values_list("name_key", flat=True)),
        )

    def awaiting_confirmation(self) -> SignatureQuerySet:
        """Signatures whose e-mail was never confirmed (pending, or held as
        suspect before confirming): the only ones a confirmation mail is for."""
        return self.filter(
            status__in=[Signature.Status.PENDING, Signature.Status.SUSPECT],
            confirmed_at__isnull=True,
        )

    def invalidatable(self) -> SignatureQuerySet:
        """Signatures a moderator may still rule out."""
        return self.filter(status__in=Signature.INVALIDATABLE)

    def news_subscribers(self, campaigns: Any) -> SignatureQuerySet:
        """Counted signatures whose signer asked for news of *that* campaign:
        the one owner of "which signers hear about a campaign". A person who
        signed several of `campaigns` has several rows (one email_hash)."""
        return self.counted().filter(
            campaign__in=campaigns, wants_updates=True, email_hash__isnull=False
        )

    def telegram_news_subscribers(self, campaigns: Any) -> SignatureQuerySet:
        """The Telegram half of `news_subscribers`: counted signatures
        confirmed through Telegram whose signer asked for news of that
        campaign and whose chat we still have (a withdrawal erases it)."""
        return (
            self.counted()
            .filter(
                campaign__in=campaigns,
                wants_updates=True,
                channel=Signature.Channel.TELEGRAM,
                telegram_hash__isnull=False,
            )
            .exclude(telegram_chat="")
        )

    def news_stop(self, *, email_hash: str) -> int:
        """The person behind `email_hash` wants no more news, from any campaign."""
        return self.filter(email_hash=email_hash).update(wants_updates=False)

    def telegram_news_stop(self, *, telegram_hash: str) -> int:
        """The Telegram user behind `telegram_hash` wants no more news (/stop)."""
        return self.filter(telegram_hash=telegram_hash).update(wants_updates=False)

    def public(self) -> SignatureQuerySet:
        """Counted signatures whose signer agreed to be shown."""
        return self.counted().filter(show_publicly=True)


@dataclass(frozen=True)
class CountChange:
    """What a status change did to its campaign's count, for the page that
    follows it (signatures.tallies.figures_with): `transaction`,
    PostgreSQL's id of the transaction that made it (None on another
    database)."""

    country: str
    delta: int
    transaction: int | None


class Signature(models.Model):
    """One person's signature on one campaign.

    Holds as little as the campaign needs. E-mail and phone are encrypted at
    rest; `email_hash` (an HMAC of the canonical e-mail) finds duplicates.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        SUSPECT = "suspect", _("Suspect")
        INVALIDATED = "invalidated", _("Invalidated")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Source(models.TextChoices):
        ONLINE = "online", _("Online")
        PAPER = "paper", _("Paper")

    # How the signer confirms, and so how we write to them: the outbox's channels.
    Channel = Message.Channel

    # What counts toward a campaign's total: the one owner of that rule. The
    # status changes below write a count delta whenever a signature moves in
    # or out of it; the tally SQL and every count read it from here.
    COUNTED = frozenset({Status.CONFIRMED})
    # What this instance's last status change did to the count (_change),
    # if it moved it.
    count_change: CountChange | None = None
    INVALIDATABLE = frozenset({Status.PENDING, Status.CONFIRMED, Status.SUSPECT})

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="signatures", verbose_name=_("campaign")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.ONLINE
    )
    event = models.CharField(
        _("event"), max_length=200, blank=True, help_text=_("For paper signatures.")
    )

    full_name = models.CharField(_("full name"), max_length=200)
    name_key = models.CharField(max_length=200, db_index=True, editable=False)
    email = EncryptedTextField(_("e-mail"), blank=True)
    # NULL, not "": many erased signatures must not collide in the unique constraint.
    email_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    phone = EncryptedTextField(_("phone number"), blank=True)
    country = CountryField(_("country of residence"), blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    province = models.CharField(_("province of origin"), max_length=40, blank=True)
    answers = models.JSONField(_("answers"), default=dict, blank=True)

    channel = models.CharField(
        _("confirmed by"), max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    # Telegram: the person is the Telegram user, kept only as a keyed hash
    # (duplicates, like email_hash); the chat is kept encrypted, to answer.
    # The start token is what the t.me link carries until Start is pressed.
    telegram_hash = models.CharField(  # noqa: DJ001 - NULL: erased ones must not collide
        max_length=64, null=True, blank=True, editable=False
    )
    telegram_chat = EncryptedTextField(_("Telegram chat"), blank=True, editable=False)
    telegram_token = models.CharField(  # noqa: DJ001 - NULL: many signatures have none
        max_length=32, null=True, blank=True, unique=True, editable=False
    )

    show_publicly = models.BooleanField(_("show my name publicly"), default=False)
    wants_updates = models.BooleanField(_("send me updates"), default=False)
    language = models.CharField(_("language"), max_length=5, default="km")

    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    referrer = models.CharField(_("referrer"), max_length=300, blank=True)
    utm = models.JSONField(_("campaign parameters"), default=dict, blank=True)
    suspect_reason = models.CharField(_("why suspect"), max_length=200, blank=True)
    invalidation_reason = models.CharField(_("why invalidated"), max_length=300, blank=True)

    link_secret = models.CharField(max_length=32, default=new_link_secret, editable=False)
    # The signer's code for finding their signature in the public count
    # record (transparency/): random, linked to nothing; kept on withdrawal
    # so the withdrawal can be checked too.
    receipt = models.CharField(
        _("receipt"), max_length=16, default=countlog.receipt_new, editable=False
    )
    confirmation_sends = models.PositiveSmallIntegerField(
        _("confirmation e-mails sent"), default=0, editable=False
    )

    # When the form was received (the worker stores it a moment later).
    created_at = models.DateTimeField(
        _("signed at"), default=timezone.now, editable=False, db_index=True
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    invalidated_at = models.DateTimeField(_("invalidated at"), null=True, blank=True)

    objects = SignatureQuerySet.as_manager()

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["-created_at"]
        constraints = [
            # One standing signature per person per campaign. Withdrawn
            # signatures lose their hash (their data is erased), so NULLs are
            # not compared; an invalidated one keeps its hash (evidence for
            # fraud review) but must not block the person's corrected
            # re-entry, so it is left out too (`standing()`).
            models.UniqueConstraint(
                fields=["campaign", "email_hash"],
                condition=Q(email_hash__isnull=False) & ~Q(status="invalidated"),
                name="one_signature_per_email_per_campaign",
            ),
            # The same rule for a Telegram account.
            models.UniqueConstraint(
                fields=["campaign", "telegram_hash"],
                condition=Q(telegram_hash__isnull=False) & ~Q(status="invalidated"),
                name="one_signature_per_telegram_user_per_campaign",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status", "country"], name="signature_count_idx"),
            models.Index(fields=["campaign", "status", "confirmed_at"], name="signature_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.get_status_display()})"

    # --- Status changes -------------------------------------------------
    # Each one locks the row, so two clicks on a confirm link (or a moderator
    # and a signer at the same moment) cannot count a signature twice. Each
    # change of whether the signature counts writes a TallyDelta in the same
    # transaction: the public count follows the statuses exactly.

    @property
    def is_counted(self) -> bool:
        return self.status in self.COUNTED

    @property
    def counted_country(self) -> str:
        """The country the signature counts under ("" for none)."""
        return str(self.country or "")

    def _change(
        self,
        allowed_from: set[str],
        change: Callable[[Signature], None],
        when: Callable[[Signature], bool] | None = None,
        held_lock: bool = False,
        *,
        kind: str,
    ) -> bool:
        """Apply `change` to the locked row when its status is in `allowed_from`
        (and `when` holds); `kind` names the change in the public record when
        it moves the count (CountEvent.Kind). Returns whether anything changed; `self` is
        refreshed from the row either way. `held_lock`: `self` was read with
        SELECT ... FOR UPDATE in the caller's transaction, which is still
        open, so it is the locked row (no second read, no savepoint).
        """
        self.count_change = None
        if held_lock and not transaction.get_connection().in_atomic_block:
            raise transaction.TransactionManagementError(
                "held_lock: the row was locked in a transaction that is over"
            )
        with transaction.atomic(savepoint=not held_lock):
            locked = self if held_lock else type(self).objects.select_for_update().get(pk=self.pk)
            if locked.status not in allowed_from or (when is not None and not when(locked)):
                self._take_values_of(locked)
                return False
            was_counted = locked.is_counted
            # The loaded values themselves: reading the country through its
            # field made a Country object per read, and comparing two of
            # them looked the name up (a tenth of a confirmation's calls).
            before = dict(locked.__dict__)
            change(locked)
            # Only what changed: a confirmation writes two columns, not the
            # whole row with its e-mail and phone encrypted again. Signature
            # has no save() or signals of its own: one UPDATE, its SQL kept.
            update = update_write(
                locked,
                [
                    f.name
                    for f in self._meta.concrete_fields
                    if not f.primary_key and locked.__dict__.get(f.attname) != before.get(f.attname)
                ],
            )
            writes = [update] if update else []
            delta = 0 if locked.is_counted == was_counted else (1 if locked.is_counted else -1)
            if delta:
                writes += locked._count_writes(delta, kind)
            # The row and the count's writes in one round trip (PostgreSQL).
            moved_in = writes_run(writes, transaction_id=bool(delta))
        self._take_values_of(locked)
        self.count_change = CountChange(self.counted_country, delta, moved_in) if delta else None
        return True

    def _take_values_of(self, row: Signature) -> None:
        """This instance now holds `row`'s values (the locked row's)."""
        if row is not self:
            self.__dict__.update(
                {
                    f.attname: row.__dict__[f.attname]
                    for f in self._meta.concrete_fields
                    if f.attname in row.__dict__
                }
            )

    def _count_delta(self, delta: int, kind: str) -> None:
        writes_run(self._count_writes(delta, kind))

    def _count_writes(self, delta: int, kind: str) -> list[Write]:
        # The only place a signature moves its campaign's count (in the
        # caller's transaction): folded into CountryTally by signatures.tallies,
        # and appended to the public record (CountEvent) in the same commit,
        # so the record and the count cannot disagree.
        return [
            insert_write(
                TallyDelta,
                {
                    "campaign": self.campaign_id,
                    "country": self.counted_country,
                    "delta": delta,
                    "created_at": timezone.now(),
                },
            ),
            CountEvent.record_write(
                campaign_id=self.campaign_id,
                kind=kind,
                country=self.country,
                delta=delta,
                receipt=self.receipt,
            ),
        ]

    @classmethod
    def paper_entry(cls, **fields: Any) -> Signature:
        """Store a signature collected on paper: counted at once (there is no
        e-mail to confirm), its count delta in the same transaction as the
        row, exactly as an online signature's confirmation writes one."""
        with transaction.atomic():
            fields.setdefault("confirmed_at", timezone.now())
            signature = cls.objects.create(
                **fields, status=cls.Status.CONFIRMED, source=cls.Source.PAPER
            )
            signature._count_delta(1, CountEvent.Kind.PAPER)
        return signature

    def confirm(self, *, held_lock: bool = False) -> bool:
        """The signer opened the confirmation link. Harmless when repeated.

        A suspect signature records the confirmed e-mail but stays suspect
        (and uncounted) until a moderator approves it. `held_lock`: see
        `_change` (the link's own read locked the row).
        """
        now = timezone.now()

        def change(signature: Signature) -> None:
            if signature.confirmed_at is None:
                signature.confirmed_at = now
            if signature.status == Signature.Status.PENDING:
                signature.status = Signature.Status.CONFIRMED

        return self._change(
            {self.Status.PENDING, self.Status.SUSPECT},
            change,
            when=lambda s: s.status == Signature.Status.PENDING or s.confirmed_at is None,
            held_lock=held_lock,
            kind=CountEvent.Kind.CONFIRMED,
        )

    def withdraw(self) -> bool:
        """The signer takes the signature back: it stops counting and the
        personal data is erased. Only the country stays (for counts by
        country in published history); the e-mail hash goes, so the person
        may sign again; a new link secret kills every link already sent."""
        now = timezone.now()

        def change(signature: Signature) -> None:
            signature.status = Signature.Status.WITHDRAWN
            signature.withdrawn_at = now
            signature.erase_personal_data()
            # Mails to the signer carry the address (encrypted): erase them too.
            messages_erase(key_prefix=Signature.mail_key_prefix(signature.pk))

        return self._change(
            {
                self.Status.PENDING,
                self.Status.CONFIRMED,
                self.Status.SUSPECT,
                self.Status.INVALIDATED,
            },
            change,
            kind=CountEvent.Kind.WITHDRAWN,
        )

    @staticmethod
    def mail_key_prefix(signature_id: int) -> str:
        """Every outbox key of mail to the signer of `signature_id` starts with this."""
        return f"signature:{signature_id}:"

    @property
    def awaits_confirmation(self) -> bool:
        """This row's answer to `Signature.objects.awaiting_confirmation()`."""
        return (
            self.status in {self.Status.PENDING, self.Status.SUSPECT} and self.confirmed_at is None
        )

    def erase_personal_data(self) -> None:
        """Blank everything that identifies the signer (caller saves)."""
        self.full_name = ""
        self.name_key = ""
        self.email = ""
        self.email_hash = None
        self.telegram_hash = None
        self.telegram_chat = ""
        self.telegram_token = None
        self.phone = ""
        self.city = ""
        self.province = ""
        self.answers = {}
        self.show_publicly = False
        self.wants_updates = False
        self.ip_address = None
        self.referrer = ""
        self.utm = {}
        self.link_secret = new_link_secret()

    def invalidate(self, reason: str) -> bool:
        """A moderator rules the signature out (fraud, duplicate person...)."""
        now = timezone.now()

        def change(signature: Signature) -> None:
            signature.status = Signature.Status.INVALIDATED
            signature.invalidation_reason = reason[:300]
            signature.invalidated_at = now

        return self._change(set(self.INVALIDATABLE), change, kind=CountEvent.Kind.INVALIDATED)

    def restore(self) -> bool:
        """Undo an invalidation: counted again if the e-mail was confirmed
        (or there is none: paper), else back to waiting for confirmation."""

        def change(signature: Signature) -> None:
            signature.status = signature._status_when_cleared()
            signature.invalidation_reason = ""
            signature.invalidated_at = None

        # Not while the person's corrected re-entry stands: both would count.
        return self._change(
            {self.Status.INVALIDATED},
            change,
            when=lambda s: not s.has_twin(),
            kind=CountEvent.Kind.RESTORED,
        )

    def has_twin(self) -> bool:
        """Another standing signature of the same person on this campaign."""
        return (
            Signature.objects.standing()
            .filter(campaign_id=self.campaign_id)
            .same_person(email_hash=self.email_hash, name_key=self.name_key)
            .exclude(pk=self.pk)
            .exists()
        )

    # What staff may correct on a paper signature: what was read off the sheet.
    CORRECTABLE = ("full_name", "country", "city", "province", "phone")

    def correct(self, **fields: Any) -> bool:
        """Staff correct a paper signature as the sheet reads (a misread name,
        the wrong country). A counted signature that changes country moves its
        count with it: -1 to the old country, +1 to the new one, in the same
        transaction. False (nothing changed) for an online or withdrawn one."""
        unknown = set(fields) - set(self.CORRECTABLE)
        if unknown:
            raise ValueError(f"not correctable: {sorted(unknown)}")
        with transaction.atomic():
            locked = type(self).objects.select_for_update().get(pk=self.pk)
            correctable = (
                locked.source == self.Source.PAPER and locked.status != self.Status.WITHDRAWN
            )
            if correctable:
                moves = (
                    locked.is_counted and fields.get("country", locked.country) != locked.country
                )
                if moves:
                    locked._count_delta(-1, CountEvent.Kind.CORRECTED)  # from the old country
                for name, value in fields.items():
                    setattr(locked, name, value)
                locked.name_key = identity.name_key(locked.full_name)[:200]
                locked.save()
                if moves:
                    locked._count_delta(1, CountEvent.Kind.CORRECTED)  # to the new one
        self.__dict__.update(
            {f.attname: getattr(locked, f.attname) for f in self._meta.concrete_fields}
        )
        return correctable

    def approve(self) -> bool:
        """A moderator clears a suspect signature: it counts once its e-mail
        is confirmed (at once if it was already, or if it is on paper)."""

        def change(signature: Signature) -> None:
            signature.status = signature._status_when_cleared()
            signature.suspect_reason = ""

        return self._change({self.Status.SUSPECT}, change, kind=CountEvent.Kind.APPROVED)

    def mark_suspect(self, reason: str) -> bool:
        """Hold the signature out of the count until a moderator approves it."""

        def change(signature: Signature) -> None:
            signature.status = Signature.Status.SUSPECT
            signature.suspect_reason = reason[:200]

        return self._change(
            {self.Status.PENDING, self.Status.CONFIRMED}, change, kind=CountEvent.Kind.HELD
        )

    def _status_when_cleared(self) -> str:
        if self.confirmed_at is not None or self.source == self.Source.PAPER:
            return self.Status.CONFIRMED
        return self.Status.PENDING


class Submission(models.Model):
    """A signing form as it arrived, before anything about its address is
    looked up.

    The signing request only stores this and queues one task: the same work
    whatever the address's history, so the answer's timing tells nobody
    whether an address has signed before. The worker then does what depends
    on that history (a new signature, the confirmation again, "already
    signed", or nothing) and deletes the submission in the same transaction:
    it is processed exactly once, and kept no longer than that.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    # The form's cleaned data, language, IP and screening verdict as JSON,
    # encrypted: it holds an e-mail address and maybe a phone number.
    payload = EncryptedTextField()
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("submission waiting to be processed")
        verbose_name_plural = _("submissions waiting to be processed")

    def __str__(self) -> str:
        return f"submission {self.pk}"


class TelegramUpdate(models.Model):
    """An update Telegram delivered to our webhook, kept until a worker has
    handled it (signatures.telegram): its id makes a redelivered update a
    no-op; its content, which names a Telegram user, is encrypted and erased
    once handled."""

    update_id = models.BigIntegerField(unique=True)
    payload = EncryptedTextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Telegram update")
        verbose_name_plural = _("Telegram updates")

    def __str__(self) -> str:
        return f"update {self.update_id}"


class CountryTally(models.Model):
    """Stored count of confirmed signatures per campaign and country.

    Updated in batches from `TallyDelta` rows, never per signature in the
    request path: see signatures/README.md.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tallies")
    country = CountryField(blank=True)
    confirmed = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "country"], name="one_tally_per_country")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.country}: {self.confirmed}"


class TallyDelta(models.Model):
    """+1 or -1 to a campaign's count in one country; insert-only, folded in batches."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    country = CountryField(blank=True)
    delta = models.SmallIntegerField()
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.country}: {self.delta:+d}"


class CountEvent(models.Model):
    """One change of a campaign's count, as the public record shows it: a
    leaf of the campaign's Merkle log (transparency/, core/countlog.py).

    Written by Signature._count_delta alone, in the transaction that moves
    the count. It holds nothing that leads to a person: the day (not the
    time), the country, +1 or -1 and the hash of the signer's random
    receipt. Insert-only, never changed: its place in the log is given
    when a head is published (transparency.models.Leaf).
    """

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        APPROVED = "approved", _("Approved after review")
        RESTORED = "restored", _("Restored")
        PAPER = "paper", _("Paper signature")
        CORRECTED = "corrected", _("Country corrected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        INVALIDATED = "invalidated", _("Invalidated")
        HELD = "held", _("Held for review")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    day = models.DateField()
    country = CountryField(blank=True)
    delta = models.SmallIntegerField()
    receipt_hash = models.BinaryField(max_length=32)
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        indexes = [models.Index(fields=["receipt_hash"], name="count_event_receipt_idx")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.day} {self.kind} {self.country} {self.delta:+d}"

    @classmethod
    def record_write(
        cls, *, campaign_id: int, kind: str, country: str, delta: int, receipt: str
    ) -> Write:
        """The INSERT of one event (Signature._count_writes runs it)."""
        event = cls(
            campaign_id=campaign_id,
            kind=kind,
            day=timezone.now().date(),
            country=str(country or ""),
            delta=delta,
            receipt_hash=bytes.fromhex(countlog.receipt_hash(receipt)),
        )
        event.leaf_hash = countlog.leaf_hash(event.leaf())
        return insert_write(
            cls,
            {
                "campaign": campaign_id,
                "kind": event.kind,
                "day": event.day,
                "country": event.country,
                "delta": delta,
                "receipt_hash": event.receipt_hash,
                "leaf_hash": event.leaf_hash,
            },
        )

    def leaf(self) -> dict[str, Any]:
        """This event as the public record lists it."""
        return countlog.leaf_fields(
            campaign=countlog.campaign_hash(self.campaign_id),
            kind=str(self.kind),
            day=self.day.isoformat(),
            country=str(self.country or ""),
            delta=self.delta,
            receipt=bytes(self.receipt_hash).hex(),
        )


# --- Signing rules (read through signatures/policy.py) -----------------------


class SigningSettings(models.Model):
    """Site-wide signing rules; one row, edited in the admin."""

    signing_paused = models.BooleanField(_("pause signing on every campaign"), default=False)
    paused_message_km = models.CharField(_("pause message (Khmer)"), max_length=300, blank=True)
    paused_message_en = models.CharField(_("pause message (English)"), max_length=300, blank=True)
    rate_burst = models.CharField(
        _("short burst limit per address"),
        max_length=20,
        blank=True,
        help_text=_('Signatures per IP address, e.g. "10/m". Empty: the server default.'),
    )
    rate_sustained = models.CharField(
        _("sustained limit per address"),
        max_length=20,
        blank=True,
        help_text=_('e.g. "60/h". Empty: the server default.'),
    )
    updated_at = models.DateTimeField(_("last saved"), auto_now=True)

    class Meta:
        verbose_name = _("signing settings")
        verbose_name_plural = _("signing settings")

    def __str__(self) -> str:
        return str(_("Signing settings"))

    def clean(self) -> None:
        for field in ("rate_burst", "rate_sustained"):
            value = getattr(self, field)
            if value and not rate_valid(value):
                raise ValidationError({field: _('Write a rate like "10/m" or "60/h".')})

    @classmethod
    def current(cls) -> SigningSettings:
        return cls.objects.order_by("pk").first() or cls()


class RuleAction(models.TextChoices):
    BLOCK = "block", _("Refuse the signature")
    SUSPECT = "suspect", _("Hold as suspect")
    ALLOW = "allow", _("Always allow")


class SigningRule(models.Model):
    """What domain and IP rules share: an action, on one campaign or on all."""

    action = models.CharField(_("action"), max_length=10, choices=RuleAction.choices)
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("campaign"),
        help_text=_("Empty: every campaign."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        abstract = True


class DomainRule(SigningRule):
    """An e-mail domain (and its subdomains) to block, hold or allow."""

    domain = models.CharField(_("e-mail domain"), max_length=253)

    class Meta:
        verbose_name = _("e-mail domain rule")
        verbose_name_plural = _("e-mail domain rules")
        ordering = ["domain"]

    def __str__(self) -> str:
        return f"{self.domain}: {self.get_action_display()}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.domain = self.domain.strip().lower().lstrip("@").rstrip(".")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def matches(self, email_domain: str) -> bool:
        domain = email_domain.strip().lower().rstrip(".")
        return domain == self.domain or domain.endswith("." + self.domain)


def validate_network(value: str) -> None:
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as error:
        raise ValidationError(_("Write an IP address or a range like 203.0.113.0/24.")) from error


class IpRule(SigningRule):
    """An IP address or CIDR range to block, hold or allow."""

    network = models.CharField(
        _("IP address or range"), max_length=50, validators=[validate_network]
    )

    class Meta:
        verbose_name = _("IP range rule")
        verbose_name_plural = _("IP range rules")
        ordering = ["network"]

    def __str__(self) -> str:
        return f"{self.network}: {self.get_action_display()}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.network = str(ipaddress.ip_network(self.network.strip(), strict=False))
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def matches(self, ip_address: str) -> bool:
        try:
            address = ipaddress.ip_address(ip_address)
        except ValueError:
            return False
        network = ipaddress.ip_network(self.network, strict=False)
        return address.version == network.version and address in network
