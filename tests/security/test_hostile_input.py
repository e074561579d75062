"""Injection-shaped input, oversized and malformed bodies, floods and lying
uploads: answered with 4xx (or the form again, with its error), never a 500,
and nothing changes."""

import io
import logging
import re
from typing import Any

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import modelform_factory
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.datastructures import MultiValueDict

from campaigns.models import Campaign
from outbox.models import Message
from signatures.forms import FORM_TOKEN_SALT
from signatures.models import Signature, Submission
from statements.models import Attachment
from tests.factories import make_campaign, submissions_process
from tests.signatures.conftest import FORM_TOKEN, sign

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


def snapshot() -> tuple[int, int, int, int]:
    return (
        Signature.objects.count(),
        Submission.objects.count(),
        Message.objects.count(),
        Campaign.objects.count(),
    )


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
CSRF_EXEMPT_ALLOWED = {
    "statements.views.unsubscribe",  # RFC 8058 one-click POST from mail programs
    "signatures.views.telegram_webhook",  # Telegram's server; checked by its secret header
}


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
        post_forms = [form for form in forms if 'method="post"' in form.split(">")[0]]
        if path != "/en/":  # the signing form, the sign-in form
            assert post_forms, path
        for form in post_forms:
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
        response = client.get(path, {"page": payload, "q": payload, "utm_source": payload})
        assert response.status_code == 200, path  # the page, as if the parameter were absent
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
    assert response.status_code == 302
    # Stored once, as the literal text it was.
    assert list(Signature.objects.values_list("full_name", flat=True)) == [f"Dara {payload}"]
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
    assert client.get("/en/campaigns/%FF%FE/").status_code == 404
    assert client.get(f"/en/campaigns/{campaign.slug}/?utm_source=%FF%FE").status_code == 400
    # Khmer, correctly encoded, is of course fine.
    assert client.get(f"/en/campaigns/{campaign.slug}/?utm_source=%E1%9E%80").status_code == 200
    assert snapshot() == before


def test_a_nul_byte_never_reaches_the_database(client: Client) -> None:
    campaign = make_campaign()
    response = sign(client, campaign, full_name="Sok\x00 Dara", city="Paris\x00")
    assert response.status_code == 400  # the form again: no browser sends a NUL
    assert Signature.objects.count() == 0


def test_a_flood_from_one_address_is_limited_and_not_counted(client: Client, settings: Any) -> None:
    settings.SIGNATURE_RATE_BURST = "5/m"
    campaign = make_campaign()
    statuses = []
    for number in range(30):
        response = sign(
            client, campaign, email=f"bot{number}@example.org", REMOTE_ADDR="198.51.100.66"
        )
        statuses.append(response.status_code)
    assert statuses == [302] * 30  # the same answer for all: a flood learns nothing
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


# --- Headers and charsets no browser sends -------------------------------------

MALFORMED_REFERERS = [
    "http://[x]/",  # urlsplit raises: not an IPv6 address
    "http://[::1",  # urlsplit raises: unclosed bracket
    "https://[::1]]/petition",
    "http://a:99999/",  # a port that cannot exist
    "http://a:port/",
    "http://\xe9\xff\xc3/",  # bytes that are not UTF-8, as WSGI hands them over (latin-1)
    "https://example.org/\xc3\xa9",
    "https://example.org/" + "a" * 10_000,
    "http:///no-host",
    "javascript:alert(1)",
]


def recorded_referrer(page: str) -> str:
    match = FORM_TOKEN.search(page)
    assert match, "the page has no signing form"
    return str(signing.loads(match.group(1), salt=FORM_TOKEN_SALT)["r"])


@pytest.mark.parametrize("referer", MALFORMED_REFERERS)
def test_a_malformed_referer_gives_the_page_and_is_not_recorded(
    client: Client, caplog: pytest.LogCaptureFixture, referer: str
) -> None:
    campaign = make_campaign()
    response = client.get(f"/en/campaigns/{campaign.slug}/", HTTP_REFERER=referer)
    assert response.status_code == 200
    assert recorded_referrer(response.content.decode()) == ""
    assert [r for r in caplog.records if r.levelno > logging.WARNING] == []


def test_a_well_formed_referer_is_still_recorded(client: Client) -> None:
    campaign = make_campaign()
    response = client.get(
        f"/en/campaigns/{campaign.slug}/", HTTP_REFERER="http://[::1]:8080/groups/a?who=dara"
    )
    assert recorded_referrer(response.content.decode()) == "http://[::1]:8080/groups/a"


def production_client() -> tuple[Client, str]:
    """A client that, like a browser in production, must pass the CSRF check,
    which reads the body: the path on which a foreign charset made a 500."""
    client = Client(enforce_csrf_checks=True)
    client.get("/en/accounts/login/")
    return client, client.cookies["csrftoken"].value


def signing_body(client: Client, campaign: Campaign, csrf_token: str) -> str:
    page = client.get(f"/en/campaigns/{campaign.slug}/").content.decode()
    form_token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert form_token
    return (
        f"csrfmiddlewaretoken={csrf_token}&full_name=Sok+Dara&email=dara%40example.org"
        f"&country=FR&consent=on&form_token={form_token.group(1)}"
    )


FOREIGN_CHARSETS = ["latin-1", "ISO-8859-1", "utf-16", "UTF-32", "cp1252", "shift_jis", "no-such"]


@pytest.mark.parametrize("charset", FOREIGN_CHARSETS)
@pytest.mark.parametrize("lang", ["km", "en"])
def test_a_form_in_a_foreign_charset_is_a_translated_400_and_stores_nothing(
    caplog: pytest.LogCaptureFixture, charset: str, lang: str
) -> None:
    campaign = make_campaign()
    client, csrf_token = production_client()
    body = signing_body(client, campaign, csrf_token)
    before = snapshot()
    for path in (f"/{lang}/campaigns/{campaign.slug}/sign/", f"/{lang}/no-such-page/"):
        response = client.generic(
            "POST",
            path,
            body.encode(),
            content_type=f"application/x-www-form-urlencoded; charset={charset}",
        )
        assert response.status_code == 400, path
        page = response.content.decode()
        assert '<main id="main"' in page  # the site's layout, not Django's bare page
        heading = "មិនអាចអានសំណើនេះបានទេ" if lang == "km" else "This request could not be read"
        assert f"<h1>{heading}</h1>" in page
    assert snapshot() == before
    assert [r for r in caplog.records if r.levelno > logging.WARNING] == []


def test_a_multipart_form_in_a_foreign_charset_is_a_400(client: Client) -> None:
    campaign = make_campaign()
    before = snapshot()
    body = b'--b\r\nContent-Disposition: form-data; name="full_name"\r\n\r\nSok\r\n--b--\r\n'
    response = client.generic(
        "POST",
        f"/en/campaigns/{campaign.slug}/sign/",
        body,
        content_type="multipart/form-data; boundary=b; charset=utf-16",
    )
    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8", "UTF_8"])
def test_a_form_declared_utf8_under_any_spelling_is_read(charset: str) -> None:
    campaign = make_campaign()
    client, csrf_token = production_client()
    response = client.generic(
        "POST",
        f"/en/campaigns/{campaign.slug}/sign/",
        signing_body(client, campaign, csrf_token).encode(),
        content_type=f"application/x-www-form-urlencoded; charset={charset}",
    )
    assert response.status_code == 302
    submissions_process()
    assert Signature.objects.get().full_name == "Sok Dara"
