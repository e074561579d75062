"""The public campaigns as each web process keeps them for a few seconds.

Every signer and every reader opens a campaign's page first, and in a viral
moment readers outnumber signers ten to one: loading the campaign and then
its questions for each request was two of the page's queries, and rendering
the fresh signing form (the same for every reader in a language) was the
largest part of its CPU. Each process keeps a public campaign, with its
questions and what is made from them alone (rendered HTML, a signing
form's fields), for PUBLISHED_TTL_SECONDS.
A save or delete in this process forgets it at once (campaigns.apps); other
processes see the change within the TTL, as with the signing rules
(signatures.policy).

The campaign handed out is shared by the requests of this process: read it,
never change it. Code that saves a campaign loads its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from django.http import Http404
from django.utils.safestring import SafeString

from campaigns.models import Campaign
from core.kept import KeptForAWhile

PUBLISHED_TTL_SECONDS = 5.0
Value = TypeVar("Value")


@dataclass
class _Published:
    campaign: Campaign | None  # None: no public campaign has this slug
    # key: (version, value)
    kept: dict[str, tuple[str, Any]] = field(default_factory=dict)


_published: KeptForAWhile[_Published] = KeptForAWhile(PUBLISHED_TTL_SECONDS)


def published_campaign(slug: str) -> Campaign:
    """The public campaign (anything but a draft) with this slug, its
    questions loaded; Http404 when there is none."""
    published = _published.get(
        slug,
        lambda: _Published(
            Campaign.objects.public().prefetch_related("questions").filter(slug=slug).first()
        ),
    )
    if published.campaign is None:
        raise Http404("No such campaign.")
    return published.campaign


def published_kept(
    campaign: Campaign, key: str, make: Callable[[], Value], version: str = ""
) -> Value:
    """`make()`, kept with the campaign while it is kept: only for what
    depends on the campaign, its questions, `key` (the language, say) and
    `version` alone (the figures shown). A new version replaces the old one,
    so a key keeps one value at most. A campaign loaded elsewhere gets a
    value made afresh every time. What is kept is shared by the requests of
    this process, as the campaign is: never changed once made."""
    published = _published.peek(campaign.slug)
    if published is None or published.campaign is not campaign:
        return make()
    kept = published.kept.get(key)
    if kept is None or kept[0] != version:
        kept = published.kept[key] = (version, make())
    return cast(Value, kept[1])


def published_rendered(
    campaign: Campaign, key: str, render: Callable[[], SafeString], version: str = ""
) -> SafeString:
    """HTML kept with the campaign (published_kept)."""
    return published_kept(campaign, f"html:{key}", render, version)


def forget_published() -> None:
    """Load every campaign afresh on next use (after a change, in tests)."""
    _published.forget()


def published_copy_attach(row: Any) -> None:
    """Give `row` (a signature, a received form: a row pointing to a
    campaign, read with that campaign's slug annotated as `campaign_slug`)
    the kept copy of its campaign, so that it needs no campaign of its own
    and what is kept with the campaign serves its request too. A draft's
    campaign, or one whose slug now names another campaign, is left to be
    loaded when first read."""
    try:
        published = published_campaign(row.campaign_slug)
    except Http404:
        return
    if published.pk == row.campaign_id:
        row.campaign = published
