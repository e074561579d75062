"""The signing form: what a signer types, checked, with every error in their language."""

from __future__ import annotations

import time
import unicodedata
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core import signing
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from phonenumber_field.formfields import PhoneNumberField

from campaigns.models import Campaign, Question
from campaigns.provinces import province_choices
from core.bilingual import localized
from core.spreadsheet import starts_like_formula
from signatures import identity
from signatures.models import UTM_KEYS

FORM_TOKEN_SALT = "signatures.form"  # nosec B105 # noqa: S105 - a salt, not a secret
FORM_TOKEN_MAX_AGE = 7 * 24 * 3600
YES, NO = "yes", "no"


def country_name(code: str) -> str:
    """In the page's language: Khmer names come from our catalogue (CLDR)."""
    return str(countries.name(code) or code)


def country_choices() -> list[tuple[str, str]]:
    """Every country, named and sorted in the page's language."""
    return list(_country_choices(get_language() or settings.LANGUAGE_CODE))


@cache
def _country_choices(language: str) -> tuple[tuple[str, str], ...]:
    # Translating and sorting ~250 names costs milliseconds: once per language
    # and process, not once per request.
    return tuple((country.code, str(country.name)) for country in countries)


def country_choices_with_blank() -> list[tuple[str, str]]:
    # Called by the field on each form, so plain gettext reads the page's language.
    return [("", gettext("Choose a country")), *country_choices()]


def form_token(*, referrer: str = "", utm: dict[str, str] | None = None) -> str:
    """A signed note of when the form was shown and how the person arrived
    (first landing), carried in the form so no session is needed."""
    return signing.dumps(
        {"t": int(time.time()), "r": referrer, "u": utm or {}}, salt=FORM_TOKEN_SALT
    )


def landing_from(referrer_header: str, query: Any) -> tuple[str, dict[str, str]]:
    """Referrer (origin and path only: a query string may carry personal data)
    and the utm_* parameters of the landing request."""
    referrer = ""
    referrer_header = _printable(referrer_header)
    if referrer_header:
        parts = urlsplit(referrer_header)
        if parts.scheme in {"http", "https"} and parts.netloc:
            referrer = f"{parts.scheme}://{parts.netloc}{parts.path}"[:300]
    utm = {key: _printable(str(query.get(key, "")))[:100] for key in UTM_KEYS if query.get(key)}
    return referrer, utm


def _printable(text: str) -> str:
    # Control characters (NUL above all: PostgreSQL refuses it) never reach the database.
    return "".join(char for char in text if unicodedata.category(char)[0] != "C")


def _question_field(question: Question) -> forms.ChoiceField:
    choices: list[tuple[str, Any]]
    if question.kind == Question.Kind.YES_NO:
        choices = [(YES, _("Yes")), (NO, _("No"))]
    else:
        choices = [
            (str(choice.get("value", "")), localized(_Choice(choice), "label").text)
            for choice in question.choices
            if isinstance(choice, dict) and choice.get("value")
        ]
    label = question.label
    return forms.ChoiceField(
        label=label.text,
        choices=choices,
        required=question.required,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please answer this question."),
            "invalid_choice": _("Please choose one of the answers."),
        },
    )


@cache
def _country_codes() -> frozenset[str]:
    return frozenset(country.code for country in countries)


class CountryField(forms.ChoiceField):
    """Checks a code against a set: ChoiceField walks all ~250 choices, named
    in the page's language, for every signature."""

    def valid_value(self, value: Any) -> bool:
        return str(value) in _country_codes()


class CountrySelect(forms.Select):
    """A <select> of ~250 countries built as one string: Django's template
    rendering of each <option> took most of the campaign page's time."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final_attrs = self.build_attrs(self.attrs, attrs)
        selected = str(value) if value not in (None, "") else ""
        options = [
            format_html(
                '<option value="{}"{}>{}</option>',
                code,
                mark_safe(" selected") if code == selected else "",  # nosec B308 B703 # noqa: S308 - a constant
                label,
            )
            for code, label in self.choices
        ]
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(final_attrs),
            mark_safe("".join(options)),  # nosec B308 B703 # noqa: S308 - each option escaped above
        )


class _Choice:
    """A choice dict seen as an object with label_km / label_en, for `localized`."""

    def __init__(self, choice: dict[str, Any]) -> None:
        self.label_km = str(choice.get("label_km", ""))
        self.label_en = str(choice.get("label_en", ""))


class SignatureForm(forms.Form):
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        error_messages={
            "required": _("Please enter your name."),
            "max_length": _("Please enter a shorter name (at most 200 characters)."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("We send you a link to confirm your signature. It is never published."),
        error_messages={
            "required": _("Please enter your e-mail address."),
            "invalid": _("Please enter a valid e-mail address, like name@example.com."),
            "max_length": _("Please enter a shorter e-mail address."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = PhoneNumberField(
        label=_("Phone number (optional)"),
        required=False,
        help_text=_("In international format, with the country code: +855 12 345 678."),
        error_messages={
            "invalid": _("Please enter a phone number with its country code, like +855 12 345 678.")
        },
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    city = forms.CharField(
        label=_("City (optional)"),
        max_length=100,
        required=False,
        error_messages={"max_length": _("Please enter a shorter city name.")},
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    province = forms.ChoiceField(
        label=_("Province of origin in Cambodia (optional)"),
        required=False,
        error_messages={"invalid_choice": _("Please choose a province from the list.")},
    )
    # A callable: its ~250 choices are listed only when the form is shown or
    # checked, not copied and normalised for every form built.
    country = CountryField(
        choices=country_choices_with_blank,
        label=_("Country where you live"),
        error_messages={
            "required": _("Please choose the country where you live."),
            "invalid_choice": _("Please choose a country from the list."),
        },
        widget=CountrySelect(attrs={"autocomplete": "country"}),
    )
    consent = forms.BooleanField(
        label=_(
            "I have read the privacy notice and agree that my signature is stored for this campaign."
        ),
        error_messages={"required": _("Please agree to the privacy notice to sign.")},
    )
    show_publicly = forms.BooleanField(
        label=_("Show my name and country in the list of signers"), required=False
    )
    wants_updates = forms.BooleanField(
        label=_("Send me news about this campaign by e-mail"), required=False
    )
    # Bots fill every field; people never see this one.
    website = forms.CharField(label=_("Leave this field empty"), required=False)
    form_token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, campaign: Campaign, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.bot_reason = ""
        self.suspect_reason = ""
        self.referrer = ""
        self.utm: dict[str, str] = {}
        if not campaign.ask_phone:
            del self.fields["phone"]
        if not campaign.ask_city:
            del self.fields["city"]
        if campaign.ask_province:
            province_field = self.fields["province"]
            assert isinstance(province_field, forms.ChoiceField)
            province_field.choices = [("", _("Choose a province")), *province_choices()]
        else:
            del self.fields["province"]
        self.questions = list(campaign.questions.all())
        for question in self.questions:
            self.fields[f"question_{question.key}"] = _question_field(question)
        # Keep the consent and opt-ins after the campaign's own questions.
        for name in ("consent", "show_publicly", "wants_updates", "website", "form_token"):
            self.fields[name] = self.fields.pop(name)

    @property
    def question_fields(self) -> list[forms.BoundField]:
        return [self[f"question_{question.key}"] for question in self.questions]

    def clean_full_name(self) -> str:
        name = identity.name_clean(self.cleaned_data["full_name"])
        if not name:
            raise forms.ValidationError(_("Please enter your name."), code="required")
        if starts_like_formula(name):
            raise forms.ValidationError(_("A name cannot start with =, +, - or @."), code="formula")
        if identity.name_looks_like_url(name):
            raise forms.ValidationError(_("A name cannot contain a web address."), code="url")
        if not identity.name_has_letter(name):
            raise forms.ValidationError(_("Please enter your name in letters."), code="letters")
        return name

    def clean_city(self) -> str:
        city = identity.name_clean(self.cleaned_data.get("city", ""))
        if city and (starts_like_formula(city) or identity.name_looks_like_url(city)):
            raise forms.ValidationError(_("Please enter only the name of your city."), code="city")
        return city

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("website"):
            self.bot_reason = "honeypot"
        token = cleaned.get("form_token") or ""
        try:
            landing = signing.loads(token, salt=FORM_TOKEN_SALT, max_age=FORM_TOKEN_MAX_AGE)
        except signing.SignatureExpired:
            landing = None  # a page left open for days: a person, not a bot
        except signing.BadSignature:
            landing = None
            self.suspect_reason = "form without a valid token"
        if isinstance(landing, dict):
            shown_at = landing.get("t")
            if (
                isinstance(shown_at, int)
                and time.time() - shown_at < settings.SIGNATURE_MIN_FILL_SECONDS
            ):
                self.bot_reason = "filled too fast"
            referrer = landing.get("r")
            self.referrer = referrer[:300] if isinstance(referrer, str) else ""
            utm = landing.get("u")
            if isinstance(utm, dict):
                self.utm = {
                    str(key)[:20]: str(value)[:100] for key, value in utm.items() if key in UTM_KEYS
                }
        return cleaned

    def signature_data(self) -> dict[str, Any]:
        """What the signature stores, from the cleaned form."""
        data = self.cleaned_data
        phone = data.get("phone")
        return {
            "full_name": data["full_name"],
            "email": data["email"],
            "phone": phone.as_e164 if phone else "",
            "city": data.get("city", ""),
            "province": data.get("province", ""),
            "country": data["country"],
            "answers": {
                question.key: data[f"question_{question.key}"]
                for question in self.questions
                if data.get(f"question_{question.key}")
            },
            "show_publicly": data.get("show_publicly", False),
            "wants_updates": data.get("wants_updates", False),
            "referrer": self.referrer,
            "utm": self.utm,
        }
