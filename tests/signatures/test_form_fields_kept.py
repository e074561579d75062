"""The signing forms of a kept campaign share one set of fields per language
and confirmation channels (signatures.forms), and nothing a form does
changes them for the next one."""

from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from campaigns.published import published_campaign
from signatures.forms import SignatureForm
from tests.factories import make_campaign, make_question

pytestmark = pytest.mark.django_db


def fields_html(form: SignatureForm) -> str:
    return render_to_string("signatures/form_fields.html", {"form": form})


def test_forms_share_the_fields_and_a_form_with_errors_leaves_them_as_they_were() -> None:
    make_campaign(ask_phone=True, ask_city=True, ask_province=True)
    campaign = published_campaign("right-to-vote")
    with translation.override("en"):
        first = SignatureForm(campaign=campaign)
        fresh_html = fields_html(first)
        wrong = SignatureForm(
            {"full_name": "", "email": "not an address", "province": "atlantis", "phone": "x"},
            campaign=campaign,
        )
        assert not wrong.is_valid()
        assert set(wrong.errors) >= {"full_name", "email", "province", "phone", "consent"}
        assert "aria-invalid" in fields_html(wrong)
        after = SignatureForm(campaign=campaign)
        assert fields_html(after) == fresh_html
        assert after.fields["full_name"] is first.fields["full_name"]  # shared, not copied
        assert after.fields is not first.fields  # each form's own dict
        # A form may still take fields out of its own dict without touching the others'.
        del after.fields["phone"]
        assert "phone" in SignatureForm(campaign=campaign).fields


def test_each_language_and_each_set_of_channels_has_fields_of_its_own(settings: Any) -> None:
    make_question(make_campaign())
    campaign = published_campaign("right-to-vote")
    with translation.override("km"):
        khmer = SignatureForm(campaign=campaign).fields["question_registered"]
    with translation.override("en"):
        english = SignatureForm(campaign=campaign).fields["question_registered"]
        assert "confirm_by" not in SignatureForm(campaign=campaign).fields
        settings.TELEGRAM_BOT_TOKEN = "123:abc"
        by_telegram = SignatureForm(campaign=campaign)
        assert "confirm_by" in by_telegram.fields
        assert not by_telegram.fields["email"].required
        settings.TELEGRAM_BOT_TOKEN = ""
        assert SignatureForm(campaign=campaign).fields["email"].required
    assert khmer.label == "តើអ្នកបានចុះឈ្មោះបោះឆ្នោតនៅកម្ពុជាទេ?"
    assert english.label == "Are you registered to vote in Cambodia?"


def test_a_new_question_reaches_the_next_form() -> None:
    campaign = make_campaign()
    kept = published_campaign(campaign.slug)
    with translation.override("en"):
        assert not any(name.startswith("question_") for name in SignatureForm(campaign=kept).fields)
        make_question(campaign)  # forgets the kept campaign (campaigns.apps)
        kept = published_campaign(campaign.slug)
        assert "question_registered" in SignatureForm(campaign=kept).fields
