"""Paper import never fails half-way: every file kind an organiser's computer
saves is read or refused with a clear message, a preview comes before any
write, and the confirmation imports exactly the preview, all or nothing."""

from __future__ import annotations

import codecs
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from campaigns.models import Campaign
from core import roles
from core.models import AuditEntry
from organisers import paper
from signatures.models import Signature
from signatures.tallies import figures_compute
from tests.factories import make_campaign, make_signature, make_staff, sign_in

HEADER = ["full_name", "email", "phone", "country", "province", "city", "show_publicly"]
# Latin names with accents (the test of a code page), one Khmer name.
LATIN_ROWS = [
    ["Françoise Lefèvre", "", "+33 6 11 11 11 11", "France", "", "Lyon", "yes"],
    ["Zoë Müller", "zoe@example.org", "", "Germany", "", "Köln", ""],
]
KHMER_ROW = ["សុខ ស្តារ៉ា", "", "", "បារាំង", "កំពត", "Paris", "yes"]


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    return "".join(delimiter.join(row) + "\r\n" for row in [HEADER, *rows])


def _xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in [HEADER, *rows]:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _organiser_client() -> tuple[Client, Any]:
    organiser = make_staff(roles.ORGANISER)
    client = Client()
    sign_in(client, organiser)
    return client, organiser


def _upload(
    client: Client,
    campaign: Campaign,
    data: bytes,
    name: str = "sheet.csv",
    language: str = "en",
) -> Any:
    with translation.override(language):
        url = reverse("organisers:paper_import", args=[campaign.slug])
    return client.post(
        url,
        {"event": "Phnom Penh, 1 May", "file": SimpleUploadedFile(name, data)},
        HTTP_ACCEPT_LANGUAGE=language,
    )


def _confirm(client: Client, campaign: Campaign, token: str) -> Any:
    return client.post(
        reverse("organisers:paper_import_confirm", args=[campaign.slug]), {"token": token}
    )


# --- Every encoding and file kind ------------------------------------------

ENCODED = {
    "utf-8": _csv([*LATIN_ROWS, KHMER_ROW]).encode("utf-8"),
    "utf-8 with BOM": codecs.BOM_UTF8 + _csv([*LATIN_ROWS, KHMER_ROW]).encode("utf-8"),
    # Excel's "Unicode text": UTF-16 LE with its BOM, separated by tabs.
    "utf-16 le, tabs": _csv([*LATIN_ROWS, KHMER_ROW], "\t").encode("utf-16"),
    "utf-16 be, commas": codecs.BOM_UTF16_BE + _csv([*LATIN_ROWS, KHMER_ROW]).encode("utf-16-be"),
    "utf-16 le without BOM": _csv([*LATIN_ROWS, KHMER_ROW], "\t").encode("utf-16-le"),
    "semicolons (European Excel)": _csv([*LATIN_ROWS, KHMER_ROW], ";").encode("utf-8"),
}
WINDOWS = {
    "cp1252": _csv(LATIN_ROWS + [["Œdipe Dupont “Kim”", "", "", "FR", "", "", ""]]).encode(
        "cp1252"
    ),
    "latin-1": _csv(LATIN_ROWS).encode("latin-1"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", list(ENCODED))
def test_a_csv_in_each_unicode_encoding_is_previewed_then_imported_as_written(
    encoding: str,
) -> None:
    campaign = make_campaign()
    client, _organiser = _organiser_client()

    preview = _upload(client, campaign, ENCODED[encoding])

    assert preview.status_code == 200
    assert preview["Cache-Control"] == "no-store"
    shown = preview.context["preview"]
    assert [row.full_name for row in shown.rows] == [
        "Françoise Lefèvre",
        "Zoë Müller",
        "សុខ ស្តារ៉ា",
    ]
    assert shown.refused == []
    assert not Signature.objects.exists()  # a preview writes nothing

    done = _confirm(client, campaign, shown.token)

    assert done.status_code == 200
    assert done.context["report"].imported == 3
    stored = {s.full_name: s for s in Signature.objects.filter(source=Signature.Source.PAPER)}
    assert set(stored) == {"Françoise Lefèvre", "Zoë Müller", "សុខ ស្តារ៉ា"}
    assert stored["Françoise Lefèvre"].phone == "+33611111111"
    assert stored["Zoë Müller"].city == "Köln"
    assert (stored["សុខ ស្តារ៉ា"].country, stored["សុខ ស្តារ៉ា"].province) == ("FR", "kampot")
    assert figures_compute(campaign).total == 3


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", list(WINDOWS))
def test_a_csv_in_a_windows_code_page_reads_its_accented_letters(encoding: str) -> None:
    campaign = make_campaign()
    client, _organiser = _organiser_client()
    data = WINDOWS[encoding]
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the point of the test: not UTF-8

    preview = _upload(client, campaign, data)

    assert preview.status_code == 200
    names = [row.full_name for row in preview.context["preview"].rows]
    assert names[:2] == ["Françoise Lefèvre", "Zoë Müller"]
    if encoding == "cp1252":
        assert names[2] == "Œdipe Dupont “Kim”"  # letters Latin-1 does not have


@pytest.mark.django_db
def test_an_excel_workbook_is_read_from_its_first_sheet() -> None:
    campaign = make_campaign()
    client, _organiser = _organiser_client()
    data = _xlsx(
        [
            ["ចាន់ ធីតា", None, "+855 12 345 678", "កម្ពុជា", "Takeo", "Phnom Penh", True],
            ["Dara Sok", "dara@example.org", None, "USA", None, None, None],
            [None, None, None, None, None, None, None],  # an empty row: skipped, not refused
            ["Lina Chan", None, None, "Atlantis", None, None, None],
        ]
    )

    preview = _upload(client, campaign, data, name="sheet.xlsx")

    shown = preview.context["preview"]
    assert [(row.full_name, row.country) for row in shown.rows] == [
        ("ចាន់ ធីតា", "KH"),
        ("Dara Sok", "US"),
    ]
    assert [(error.line, "Atlantis" in error.message) for error in shown.refused] == [(5, True)]
    _confirm(client, campaign, shown.token)
    thida = Signature.objects.get(full_name="ចាន់ ធីតា")
    assert (thida.phone, thida.province, thida.show_publicly) == ("+85512345678", "takeo", True)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
REFUSED = {
    "png": ("photo.png", PNG + bytes(range(256))),
    "pdf": ("sheet.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"),
    "empty": ("empty.csv", b""),
    "blank": ("blank.csv", b"\r\n  \r\n"),
    "old excel": ("sheet.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
    "zip": ("sheet.zip", b"PK\x03\x04" + bytes(100)),
    "broken workbook": ("sheet.xlsx", _xlsx([["A", "", "", "FR", "", "", ""]])[:900]),
    "binary": ("data.bin", bytes(range(256)) * 4),
    "no header": ("sheet.csv", b"Sok Dara,FR\r\n"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(REFUSED))
def test_a_file_that_is_not_a_sheet_of_signatures_is_refused_whole_and_audited(
    kind: str,
) -> None:
    campaign = make_campaign()
    client, organiser = _organiser_client()
    name, data = REFUSED[kind]

    page = _upload(client, campaign, data, name=name)

    assert page.status_code == 200
    assert page.context["form"].errors["file"]  # said on the form, next to the file
    assert "preview" not in page.context
    assert not Signature.objects.exists()
    entry = AuditEntry.objects.get(user=organiser)
    assert "refused" in entry.detail


@pytest.mark.django_db
def test_a_file_too_large_is_refused_before_it_is_read() -> None:
    campaign = make_campaign()
    client, _organiser = _organiser_client()
    data = _csv([["Sok Dara", "", "", "FR", "", "", ""]]).encode() + b" " * (5 * 1024 * 1024)
    page = _upload(client, campaign, data)
    assert "5 MB" in str(page.context["form"].errors["file"])
    assert not Signature.objects.exists()


@pytest.mark.django_db
def test_refusals_read_in_the_organisers_language() -> None:
    campaign = make_campaign()
    client, _organiser = _organiser_client()

    page = _upload(client, campaign, REFUSED["png"][1], name="photo.png", language="km")

    message = str(page.context["form"].errors["file"])
    assert "ឯកសារនេះមិនមែនជាតារាង" in message
    rows = _upload(
        client,
        campaign,
        _csv([["Sok Dara", "", "", "Atlantis", "", "", ""]]).encode(),
        language="km",
    )
    assert "មិនស្គាល់ប្រទេស" in rows.context["preview"].refused[0].message


@pytest.mark.django_db
def test_a_row_with_more_cells_than_the_header_is_refused_with_its_line() -> None:
    campaign = make_campaign()
    client, _organiser = _organiser_client()
    text = (
        _csv([["Sok Dara", "", "", "FR", "", "", ""]])
        + "Chan Thida,,,FR,,,,surplus,cells\r\n"
        + "Lina Chan,,,FR,,,,,\r\n"  # empty trailing cells, as Excel writes them: fine
    )

    page = _upload(client, campaign, text.encode())

    shown = page.context["preview"]
    assert [row.full_name for row in shown.rows] == ["Sok Dara", "Lina Chan"]
    assert [error.line for error in shown.refused] == [3]
    assert "9 cells" in shown.refused[0].message


@pytest.mark.django_db
def test_line_numbers_are_the_lines_of_the_file_with_blank_and_multiline_rows() -> None:
    campaign = make_campaign()
    client, _organiser = _organiser_client()
    text = (
        "full_name,email,phone,country,province,city,show_publicly\r\n"
        '"Sok Dara",,,FR,,"Paris\r\n15e",\r\n'  # lines 2-3
        "\r\n"  # line 4
        "Chan Thida,,,Atlantis,,,\r\n"  # line 5
    )
    shown = _upload(client, campaign, text.encode()).context["preview"]
    assert [error.line for error in shown.refused] == [5]


# --- Countries, phones and names as online --------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("USA", "US"),
        ("United States", "US"),
        ("united states of america", "US"),
        ("U.S.A.", "US"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("Korea", "KR"),
        ("South Korea", "KR"),
        ("fr", "FR"),
        ("FRA", "FR"),
        (" France ", "FR"),
        ("សហរដ្ឋ\u200bអាមេរិក", "US"),  # CLDR's Khmer name, with its zero-width space
        ("សហរដ្ឋ អាមេរិក", "US"),
        ("ថៃ", "TH"),
        ("កូរ៉េ", "KR"),
    ],
)
def test_countries_are_read_by_english_or_khmer_name_alias_or_code(written: str, code: str) -> None:
    assert paper._country_code(written) == code


@pytest.mark.django_db
def test_phones_and_names_go_through_the_online_forms_rules() -> None:
    campaign = make_campaign()
    client, _organiser = _organiser_client()
    rows = [
        ["Good Phone", "", "00855 12 345 678", "KH", "", "", ""],
        ["No Country Code", "", "012 345 678", "KH", "", "", ""],
        ["Letters", "", "+855 abc", "KH", "", "", ""],
        ['"=HYPERLINK(""http://x"")"', "", "", "KH", "", "", ""],
        ["<b>Bold</b>", "", "", "KH", "", "", ""],
        ["\u202eanirak", "", "", "KH", "", "", ""],
        ["www.example.com", "", "", "KH", "", "", ""],
        ["Bad Mail", "not-an-e-mail", "", "KH", "", "", ""],
        ["City Formula", "", "", "KH", "", "=cmd()", ""],
    ]
    shown = _upload(client, campaign, _csv(rows).encode()).context["preview"]
    assert [(row.full_name, row.phone) for row in shown.rows] == [("Good Phone", "+85512345678")]
    refused = {error.line: error.message for error in shown.refused}
    assert "country code" in refused[3]
    assert "digits" in refused[4]
    assert "=, +, - or @" in refused[5]
    assert "< or >" in refused[6]
    assert "direction" in refused[7]
    assert "web address" in refused[8]
    assert "e-mail address" in refused[9]
    assert "city" in refused[10]


# --- Preview, then exactly that, all or nothing ----------------------------


@pytest.mark.django_db
def test_the_preview_writes_nothing_and_the_confirmation_imports_it_once() -> None:
    campaign = make_campaign()
    client, organiser = _organiser_client()
    shown = _upload(client, campaign, ENCODED["utf-8"]).context["preview"]
    assert not Signature.objects.exists()
    assert figures_compute(campaign).total == 0
    previewed = AuditEntry.objects.get(user=organiser)
    assert "previewed" in previewed.detail and "3 to add" in previewed.detail

    assert _confirm(client, campaign, shown.token).context["report"].imported == 3
    imported = AuditEntry.objects.get(user=organiser, action=AuditEntry.Action.IMPORTED)
    assert "3 imported" in imported.detail and "Phnom Penh, 1 May" in imported.detail

    again = _confirm(client, campaign, shown.token)  # the browser's reload, or a double click
    assert b'id="import-refused"' in again.content
    assert Signature.objects.count() == 3
    assert figures_compute(campaign).total == 3


@pytest.mark.django_db
def test_a_row_that_became_a_duplicate_since_the_preview_stops_the_whole_import() -> None:
    campaign = make_campaign()
    client, organiser = _organiser_client()
    shown = _upload(client, campaign, ENCODED["utf-8"]).context["preview"]
    # Between the preview and the button, Zoë signs online.
    make_signature(campaign, full_name="Zoë Müller", email="zoe@example.org")

    page = _confirm(client, campaign, shown.token)

    assert b'id="import-refused"' in page.content
    assert "line 3" in page.context["refusal"]
    assert not Signature.objects.filter(source=Signature.Source.PAPER).exists()
    assert figures_compute(campaign).total == 1
    refusal = AuditEntry.objects.filter(user=organiser).order_by("-pk").first()
    assert refusal is not None and "refused" in refusal.detail


@pytest.mark.django_db
def test_a_changed_or_foreign_token_is_refused_and_nothing_is_written() -> None:
    campaign = make_campaign()
    other_campaign = make_campaign(slug="other")
    client, _organiser = _organiser_client()
    token = _upload(client, campaign, ENCODED["utf-8"]).context["preview"].token

    changed = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    assert b'id="import-refused"' in _confirm(client, campaign, changed).content
    assert b'id="import-refused"' in _confirm(client, campaign, "").content
    # The same preview confirmed on another campaign, or by another organiser.
    assert b'id="import-refused"' in _confirm(client, other_campaign, token).content
    other_client, _other = _organiser_client()
    assert b'id="import-refused"' in _confirm(other_client, campaign, token).content
    assert not Signature.objects.exists()


@pytest.mark.django_db
def test_a_failure_in_the_middle_of_an_import_leaves_no_row(monkeypatch: Any) -> None:
    campaign = make_campaign()
    organiser = make_staff(roles.ORGANISER)
    shown = paper.paper_preview(
        campaign=campaign, data=ENCODED["utf-8"], event="Lyon", user=organiser
    )
    real_entry = Signature.paper_entry
    entered: list[Signature] = []

    def entry_that_fails_on_the_third(**fields: Any) -> Signature:
        if len(entered) == 2:
            raise RuntimeError("the database went away")
        entered.append(real_entry(**fields))
        return entered[-1]

    monkeypatch.setattr(Signature, "paper_entry", entry_that_fails_on_the_third)
    with pytest.raises(RuntimeError):
        paper.paper_confirm(campaign=campaign, token=shown.token, user=organiser)

    assert len(entered) == 2
    assert not Signature.objects.exists()
    assert figures_compute(campaign).total == 0
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.IMPORTED).exists()


@pytest.mark.django_db
def test_only_staff_who_import_paper_may_preview_or_confirm() -> None:
    campaign = make_campaign()
    organiser_client, organiser = _organiser_client()
    token = paper.paper_preview(
        campaign=campaign, data=ENCODED["utf-8"], event="x", user=organiser
    ).token
    viewer = Client()
    sign_in(viewer, make_staff(roles.VIEWER))
    outsider = Client()
    sign_in(outsider, make_staff(None))
    for client in (viewer, outsider):
        assert _upload(client, campaign, ENCODED["utf-8"]).status_code == 403
        assert _confirm(client, campaign, token).status_code == 403
    assert not Signature.objects.exists()
    assert _confirm(organiser_client, campaign, token).status_code == 200
