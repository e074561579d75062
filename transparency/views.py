"""The record as anyone reads it: keys, heads, leaves and proofs as JSON,
and the page where a signer checks their receipt (with or without
JavaScript: without it, the check runs here and the proof is shown)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from pymerkle import InvalidProof, MerkleProof, verify_inclusion

from campaigns.models import Campaign
from campaigns.published import published_campaign
from core import countlog
from signatures.countries import country_name
from signatures.models import CountEvent
from transparency import keys, services
from transparency.models import TreeHead

SHORT_CACHE = "public, max-age=300"
LONG_CACHE = "public, max-age=86400, immutable"


class BadQuery(Exception):
    pass


def _positive(request: HttpRequest, name: str, default: int | None = None) -> int:
    raw = request.GET.get(name)
    if raw is None and default is not None:
        return default
    try:
        value = int(raw or "")
    except ValueError:
        raise BadQuery(f"{name}: a whole number from 1") from None
    if not 1 <= value < 2**63:  # what the database's positions hold
        raise BadQuery(f"{name}: a whole number from 1")
    return value


def _json(data: Any, cache_control: str = SHORT_CACHE, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = cache_control
    response["Access-Control-Allow-Origin"] = "*"  # public data: any verifier may read it
    return response


def _bad(error: BadQuery) -> JsonResponse:
    return _json({"error": str(error)}, "no-store", status=400)


def _head(request: HttpRequest, campaign: Campaign, name: str, *, latest: bool = False) -> TreeHead:
    """The campaign's head whose size the query's `name` gives; the latest
    when it gives none and `latest`."""
    if latest and name not in request.GET:
        head = TreeHead.objects.of(campaign).last()
        if head is None:
            raise BadQuery("nothing published yet")
        return head
    size = _positive(request, name)
    head = TreeHead.objects.filter(campaign=campaign, size=size).first()
    if head is None:
        raise BadQuery(f"{name}: no head of size {size}")
    return head


@require_GET
def public_keys(request: HttpRequest) -> JsonResponse:
    return _json({"keys": [key.as_json() for key in keys.public_keys()]})


@require_GET
def heads(request: HttpRequest, slug: str) -> JsonResponse:
    campaign = published_campaign(slug)
    return _json(
        {
            "campaign": countlog.campaign_hash(campaign.pk),
            "heads": [head.as_json() for head in TreeHead.objects.of(campaign)],
        }
    )


@require_GET
def leaves(request: HttpRequest, slug: str) -> JsonResponse:
    """?start=1&count=1000[&size=N]: leaves of the head of size N (the latest by default)."""
    campaign = published_campaign(slug)
    if "size" not in request.GET and not TreeHead.objects.of(campaign).exists():
        return _json({"size": 0, "leaves": []})
    try:
        start = _positive(request, "start", 1)
        count = min(_positive(request, "count", 1000), services.LEAVES_PAGE_MAX)
        head = _head(request, campaign, "size", latest=True)
    except BadQuery as error:
        return _bad(error)
    page = services.leaves_page(head, start, count)
    # A full page of a head never changes; the last, shorter one grows.
    whole = len(page) == count
    return _json({"size": head.size, "leaves": page}, LONG_CACHE if whole else SHORT_CACHE)


@require_GET
def consistency(request: HttpRequest, slug: str) -> JsonResponse:
    """?first=SIZE&second=SIZE: the proof that the second head extends the first."""
    campaign = published_campaign(slug)
    try:
        first = _head(request, campaign, "first")
        second = _head(request, campaign, "second")
        if first.size > second.size:
            raise BadQuery("first: the smaller size")
    except BadQuery as error:
        return _bad(error)
    return _json(
        {
            "first": first.size,
            "second": second.size,
            "proof": services.consistency_proof(first, second),
        },
        LONG_CACHE,
    )


@require_GET
def inclusion(request: HttpRequest, slug: str) -> JsonResponse:
    """?index=N[&size=N]: the proof that leaf N is in the head of that size."""
    campaign = published_campaign(slug)
    try:
        head = _head(request, campaign, "size", latest=True)
        index = _positive(request, "index")
        if index > head.size:
            raise BadQuery(f"index: at most {head.size}")
    except BadQuery as error:
        return _bad(error)
    return _json(
        {"index": index, "size": head.size, "proof": services.inclusion_proof(head, index)},
        LONG_CACHE,
    )


def _entry_json(entry: services.ReceiptEntry) -> dict[str, Any]:
    return {
        "campaign": {
            "slug": entry.campaign.slug,
            "title": entry.campaign.title.text,
            "url": entry.campaign.get_absolute_url(),
        },
        "leaf": entry.leaf,
        "index": entry.index,
        "head": entry.head.as_json() if entry.head else None,
        "proof": entry.proof,
    }


@require_GET
def receipt(request: HttpRequest) -> JsonResponse:
    """?hash=<the receipt's hash>: the browser sends the hash, never the receipt."""
    receipt_hash = request.GET.get("hash", "").lower()
    if len(receipt_hash) != 64 or not all(ch in "0123456789abcdef" for ch in receipt_hash):
        return _bad(BadQuery("hash: 64 hexadecimal digits"))
    entries = services.receipt_entries_by_hash(receipt_hash)
    return _json({"entries": [_entry_json(entry) for entry in entries]}, "no-store")


# --- The signer's page ---------------------------------------------------------


def _checked_here(entry: services.ReceiptEntry) -> bool:
    """What the page's script checks in the browser, checked here for
    readers without JavaScript: the leaf's hash, its proof to the head's
    root and the head's signature."""
    if entry.head is None or entry.proof is None:
        return False
    try:
        proof = MerkleProof.deserialize(entry.proof)
        leaf_hash = countlog.leaf_hash({k: v for k, v in entry.leaf.items() if k != "hash"})
        verify_inclusion(leaf_hash, bytes.fromhex(entry.head.root), proof)
    except (InvalidProof, ValueError):
        return False
    return keys.verify(entry.head)


def verify(request: HttpRequest) -> HttpResponse:
    typed = request.GET.get("receipt", "")
    context: dict[str, Any] = {"typed": typed[:100]}
    if typed:
        normalised = countlog.receipt_normalise(typed)
        if normalised is None:
            context["error"] = True
        else:
            entries = services.receipt_entries_by_hash(countlog.receipt_hash(normalised))
            context.update(
                receipt=countlog.receipt_display(normalised),
                entries=[
                    {
                        "entry": entry,
                        "checked": _checked_here(entry),
                        "kind": CountEvent.Kind(entry.leaf["kind"]).label,
                        "country": country_name(entry.leaf["country"]),
                    }
                    for entry in entries
                ],
                searched=True,
            )
    status = 400 if context.get("error") else 200
    return render(request, "transparency/verify.html", context, status=status)
