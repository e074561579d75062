"""Bad input: a clear error in the page's language, nothing stored, never a 500."""

from typing import Any

import pytest
from django.test import Client
from django.utils.translation import trans_real
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from signatures.forms import SignatureForm, form_token
from signatures.models import Signature, Submission
from tests.factories import make_campaign, make_question, submissions_process
from tests.signatures.conftest import sign

BAD_INPUT = [
    ("full_name", "", "Please enter your name."),
    ("full_name", "   \u200b  ", "Please enter your name."),
    ("full_name", '=HYPERLINK("http://x")', "A name cannot start with =, +, - or @."),
    ("full_name", "+85512345678", "A name cannot start with =, +, - or @."),
    ("full_name", "@dara", "A name cannot start with =, +, - or @."),
    ("full_name", "Win money at cheap-pills.com", "A name cannot contain a web address."),
    ("full_name", "see https://example.org", "A name cannot contain a web address."),
    ("full_name", "12345", "Please enter your name in letters."),
    ("full_name", "ក" * 201, "Please enter a shorter name (at most 200 characters)."),
    ("email", "", "Please enter your e-mail address."),
    ("email", "dara@", "Please enter a valid e-mail address, like name@example.com."),
    ("email", "not an address", "Please enter a valid e-mail address, like name@example.com."),
    ("phone", "12345", "Please enter a phone number with its country code, like +855 12 345 678."),
    ("city", "www.example.org", "Please enter only the name of your city."),
    ("city", "x" * 101, "Please enter a shorter city name."),
    ("province", "atlantis", "Please choose a province from the list."),
    ("country", "", "Please choose the country where you live."),
    ("country", "XX", "Please choose a country from the list."),
    ("question_registered", None, "Please answer this question."),
    ("question_registered", "perhaps", "Please choose one of the answers."),
    ("consent", None, "Please agree to the privacy notice to sign."),
]


@pytest.fixture
def full_campaign(db: None):
    campaign = make_campaign(ask_phone=True, ask_city=True, ask_province=True)
    make_question(campaign, required=True)
    return campaign


@pytest.fixture
def marked_khmer(monkeypatch: pytest.MonkeyPatch):
    """A Khmer catalogue that marks our messages, to see they are translated
    in the page's language (whatever the translators have done so far)."""
    khmer = trans_real.translation("km")
    original = khmer.gettext
    ours = {message for _field, _value, message in BAD_INPUT}
    monkeypatch.setattr(
        khmer,
        "gettext",
        lambda message: f"[km] {message}" if message in ours else original(message),
    )


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_input_gives_a_translated_error_and_stores_nothing(
    client: Client, full_campaign, marked_khmer, field: str, value: Any, message: str
) -> None:
    fields = {"question_registered": "yes", field: value}
    response = sign(client, full_campaign, lang="km", **fields)
    assert response.status_code == 400  # the form again, with its errors
    page = response.content.decode()
    assert f"[km] {message}" in page
    assert 'aria-invalid="true"' in page
    assert 'role="alert"' in page
    assert Signature.objects.count() == 0


def test_the_form_keeps_what_was_typed_after_an_error(client: Client, full_campaign) -> None:
    page = sign(client, full_campaign, email="dara@", full_name="សុខ ដារ៉ា").content.decode()
    assert 'value="សុខ ដារ៉ា"' in page


FIELDS = [
    "full_name",
    "email",
    "phone",
    "city",
    "province",
    "country",
    "question_registered",
    "consent",
    "show_publicly",
    "wants_updates",
    "website",
    "form_token",
]
anything = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=5000),
    st.sampled_from(["", "on", "yes", "FR", "KH", "+85512345678", "a@b.co", "\x00", "ក្ម"]),
)


@pytest.fixture
def no_rate_limits(settings: Any) -> None:
    """Sixty submissions from one address in a second: not what this test is about."""
    settings.SIGNATURE_RATE_BURST = settings.SIGNATURE_RATE_SUSTAINED = "100000/m"


def expected_outcome(campaign: Any, data: dict[str, str]) -> str:
    """What the view must do with this submission, as the form sees it."""
    form = SignatureForm(data, campaign=campaign)
    if not form.is_valid():
        return "errors"
    return "dropped" if form.bot_reason else "stored"


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.dictionaries(st.sampled_from(FIELDS), anything), lang=st.sampled_from(["km", "en"]))
def test_any_input_never_causes_a_server_error(
    client: Client, full_campaign, no_rate_limits: None, data: dict[str, str], lang: str
) -> None:
    # Each example starts from a valid submission (a fresh address, a genuine
    # token) and overrides some fields, so both outcomes are drawn often.
    Signature.objects.all().delete()
    Submission.objects.all().delete()
    submission = {
        "full_name": "Sok Dara",
        "email": "dara@example.org",
        "country": "FR",
        "consent": "on",
        "question_registered": "yes",
        "form_token": form_token(),
        **data,
    }
    expected = expected_outcome(full_campaign, submission)
    response = client.post(f"/{lang}/campaigns/{full_campaign.slug}/sign/", submission)
    if expected == "errors":
        assert response.status_code == 400  # the form again, with its errors
        assert 'name="full_name"' in response.content.decode()
        assert Submission.objects.count() == 0
    else:
        assert response.status_code == 302
        assert response["Location"] == f"/{lang}/campaigns/{full_campaign.slug}/thanks/"
        assert Submission.objects.count() == (1 if expected == "stored" else 0)
        submissions_process()
        assert Signature.objects.count() == (1 if expected == "stored" else 0)
