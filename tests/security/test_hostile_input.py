"""Injection-shaped input, oversized and malformed bodies, floods and lying
uploads: answered with 4xx (or the form again, with its error), never a 500,
and nothing changes."""

import io
from types import SimpleNamespace
from typing import Any

import django_ratelimit.core
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import modelform_factory
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.datastructures import MultiValueDict

from campaigns.models import Campaign
from outbox.models import Message
from signatures.models import Signature
from statements.models import Attachment
from tests.factories import make_campaign
from tests.signatures.conftest import sign

pytestmark = pytest.mark.django_db

SQL_SHAPED = [
    "' OR '1'='1",
    "'; DROP TABLE signatures_signature; --",
    "1; UPDATE signatures_countrytally SET confirmed=999999 --",
    '" OR 1=1 --',
    "admin'--",
    "1' UNION SELECT email, phone FROM signatures_signature --",
    "%' AND 1=(SELECT COUNT(*) FROM pg_sleep(5)) --",
    "\\x00'; SELECT pg_sleep(5); --",
]


@pytest.fixture(autouse=True)
def _quick_form(settings: Any) -> None:
    settings.SIGNATURE_MIN_FILL_SECONDS = 0


def snapshot() -> tuple[int, int, int]:
    return (Signature.objects.count(), Message.objects.count(), Campaign.objects.count())


def all_views() -> list[Any]:
    def walk(patterns: list[Any]) -> list[Any]:
        found = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                found += walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                found.append(pattern.callback)
        return found

    return walk(get_resolver().url_patterns)


# One-click unsubscribe (RFC 8058): mail programs POST without a token; the
# signed token in the URL is the proof, and it can only unsubscribe.
CSRF_EXEMPT_ALLOWED = {"statements.views.unsubscribe"}


def test_no_view_is_exempt_from_csrf() -> None:
    exempt = {
        f"{view.__module__}.{getattr(view, '__name__', view)}"
        for view in all_views()
        if getattr(view, "csrf_exempt", False)
    }
    assert exempt <= CSRF_EXEMPT_ALLOWED


def test_every_post_form_on_public_pages_carries_a_csrf_token(client: Client) -> None:
    campaign = make_campaign()
    for path in ("/en/", f"/en/campaigns/{campaign.slug}/", "/en/accounts/login/"):
        html = client.get(path).content.decode()
        forms = html.lower().split("<form")[1:]
        for form in forms:
            if 'method="post"' in form.split(">")[0]:
                assert "csrfmiddlewaretoken" in form.split("</form>")[0], path


def test_signing_without_the_csrf_token_is_refused() -> None:
    campaign = make_campaign()
    client = Client(enforce_csrf_checks=True)
    before = snapshot()
    response = client.post(
        f"/en/campaigns/{campaign.slug}/sign/",
        {"full_name": "Sok Dara", "email": "dara@example.org", "country": "FR", "consent": "on"},
    )
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("payload", SQL_SHAPED)
def test_sql_shaped_input_in_paths_and_queries_is_a_4xx(client: Client, payload: str) -> None:
    campaign = make_campaign()
    before = snapshot()
    for path in (
        f"/en/campaigns/{payload}/",
        f"/en/statements/{payload}/",
        f"/en/sign/confirm/{payload}/",
        f"/en/sign/withdraw/{payload}/",
    ):
        response = client.get(path.replace("#", "%23").replace("?", "%3F"))
        assert 400 <= response.status_code < 500, (path, response.status_code)
    for path in ("/en/campaigns/", "/en/statements/", f"/en/campaigns/{campaign.slug}/"):
        assert client.get(
            path, {"page": payload, "q": payload, "utm_source": payload}
        ).status_code in {200, 400, 404}
    assert snapshot() == before


@pytest.mark.parametrize("payload", SQL_SHAPED)
def test_sql_shaped_form_fields_are_refused_or_stored_as_plain_text(
    client: Client, payload: str
) -> None:
    campaign = make_campaign()
    response = sign(client, campaign, email=f"x{payload}@example.org", country=payload)
    assert response.status_code == 400  # the form again, with its errors
    assert Signature.objects.count() == 0
    response = sign(client, campaign, full_name=f"Dara {payload}")
    assert response.status_code in {200, 302, 400}
    for signature in Signature.objects.all():  # kept only as the literal text it was
        assert signature.full_name.startswith("Dara")
    assert Campaign.objects.count() == 1


def test_an_oversized_body_is_refused(client: Client, settings: Any) -> None:
    campaign = make_campaign()
    before = snapshot()
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(
        f"/en/campaigns/{campaign.slug}/sign/",
        {"full_name": big, "email": "dara@example.org", "country": "FR", "consent": "on"},
    )
    assert response.status_code == 400
    many = {f"field{number}": "x" for number in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    assert client.post(f"/en/campaigns/{campaign.slug}/sign/", many).status_code == 400
    assert snapshot() == before


def test_invalid_utf8_is_a_4xx_and_stores_nothing(client: Client) -> None:
    campaign = make_campaign()
    before = snapshot()
    body = b"full_name=\xff\xfe\xc3\x28&email=dara%40example.org&country=FR&consent=on"
    response = client.post(
        f"/en/campaigns/{campaign.slug}/sign/",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    response = client.post(
        f"/en/campaigns/{campaign.slug}/sign/",
        "full_name=%FF%FE%C3%28&email=dara%40example.org&country=FR&consent=on",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert client.get("/en/campaigns/%FF%FE/").status_code in {400, 404}
    assert client.get(f"/en/campaigns/{campaign.slug}/?utm_source=%FF%FE").status_code == 400
    # Khmer, correctly encoded, is of course fine.
    assert client.get(f"/en/campaigns/{campaign.slug}/?utm_source=%E1%9E%80").status_code == 200
    assert snapshot() == before


def test_a_nul_byte_never_reaches_the_database(client: Client) -> None:
    campaign = make_campaign()
    response = sign(client, campaign, full_name="Sok\x00 Dara", city="Paris\x00")
    assert response.status_code in {200, 302, 400}
    assert all("\x00" not in s.full_name for s in Signature.objects.all())


def test_a_flood_from_one_address_is_limited_and_not_counted(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SIGNATURE_RATE_BURST = "5/m"
    # One instant for the limiter: its windows are fixed, and a flood that
    # straddled a window's end would rightly get five more through.
    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: 1.8e9))
    campaign = make_campaign()
    statuses = set()
    for number in range(30):
        response = sign(
            client, campaign, email=f"bot{number}@example.org", REMOTE_ADDR="198.51.100.66"
        )
        statuses.add(response.status_code)
    assert statuses <= {302, 429}  # never a 500
    counted = Signature.objects.filter(status=Signature.Status.PENDING).count()
    assert counted == 5
    assert (
        Signature.objects.exclude(status=Signature.Status.PENDING)
        .exclude(status=Signature.Status.SUSPECT)
        .count()
        == 0
    )


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
LYING_UPLOADS = [
    ("photo.png", b"<html><script>alert(1)</script></html>", "image/png"),
    ("photo.jpg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/jpeg"),
    ("statement.pdf", b"MZ\x90\x00 an executable, not a PDF", "application/pdf"),
    (
        "drawing.svg",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        "image/svg+xml",
    ),
    ("page.html", PNG, "text/html"),
    ("script.js", PNG, "image/png"),
    ("photo.png.exe", PNG, "image/png"),
]


@pytest.mark.parametrize(("name", "content", "content_type"), LYING_UPLOADS)
def test_statement_attachments_with_a_wrong_or_lying_type_are_refused(
    name: str, content: bytes, content_type: str
) -> None:
    form_class = modelform_factory(Attachment, fields=["file"])
    form = form_class(
        files=MultiValueDict({"file": [SimpleUploadedFile(name, content, content_type)]})
    )
    assert not form.is_valid()
    assert "file" in form.errors


def test_a_real_png_attachment_is_accepted() -> None:
    form_class = modelform_factory(Attachment, fields=["file"])
    form = form_class(
        files=MultiValueDict({"file": [SimpleUploadedFile("photo.png", PNG, "image/png")]})
    )
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(("name", "content", "content_type"), LYING_UPLOADS)
def test_campaign_images_with_a_wrong_or_lying_type_are_refused(
    name: str, content: bytes, content_type: str
) -> None:
    form_class = modelform_factory(Campaign, fields=["image"])
    form = form_class(
        files=MultiValueDict({"image": [SimpleUploadedFile(name, content, content_type)]})
    )
    assert not form.is_valid()
    assert "image" in form.errors


def test_a_real_campaign_image_is_accepted() -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    form_class = modelform_factory(Campaign, fields=["image"])
    form = form_class(
        files=MultiValueDict(
            {"image": [SimpleUploadedFile("banner.png", buffer.getvalue(), "image/png")]}
        )
    )
    assert form.is_valid(), form.errors
