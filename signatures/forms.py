"""The signing form: what a signer types, checked, with every error in their language."""

from __future__ import annotations

import copy
import re
import secrets
import time
import unicodedata
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from django import forms
from django.core import signing
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from phonenumbers import ValidationResult

from campaigns.models import Campaign, Question
from campaigns.provinces import province_choices
from campaigns.published import published_kept, published_rendered
from core import telegram_api
from core.bilingual import localized
from core.spreadsheet import starts_like_formula
from signatures import identity, policy
from signatures.countries import CountryField, CountrySelect, country_choices_with_blank
from signatures.countries import country_name as country_name  # views import it from here
from signatures.models import UTM_KEYS, Signature

FORM_TOKEN_SALT = "signatures.form"  # nosec B105 # noqa: S105 - a salt, not a secret
YES, NO = "yes", "no"
# Marks that end a sentence or a question in English and Khmer (។ ៕ ៖).
SENTENCE_ENDS = (".", "?", "!", ":", "\u17d4", "\u17d5", "\u17d6")


def form_token(*, referrer: str = "", utm: dict[str, str] | None = None) -> str:
    """A signed note of when the form was shown and how the person arrived
    (first landing), carried in the form so no session is needed."""
    return _signed_landing(shown_at=int(time.time()), referrer=referrer, utm=utm or {})


def landing_token(request: HttpRequest) -> str:
    """A fresh form's token for this request: now, and how the reader arrived."""
    referrer, utm = landing_from(request.META.get("HTTP_REFERER", ""), request.GET)
    return form_token(referrer=referrer, utm=utm)


def _signed_landing(*, shown_at: int, referrer: str, utm: dict[str, str]) -> str:
    # "n": a random nonce, so two pages shown in the same second from the
    # same link get different tokens (each token may be used once).
    return signing.dumps(
        {"t": shown_at, "r": referrer, "u": utm, "n": secrets.token_urlsafe(9)},
        salt=FORM_TOKEN_SALT,
    )


# Browsers cut a Referer at 4 kB (Chrome, Firefox); anything longer was not sent by one.
REFERRER_MAX_LENGTH = 4096
# A domain name or an address; a bracketed IPv6 address is checked by urlsplit.
REFERRER_HOST = re.compile(r"[a-z0-9._-]+|[0-9a-f:.]*:[0-9a-f:.]*")


def landing_from(referrer_header: str, query: Any) -> tuple[str, dict[str, str]]:
    """Referrer (origin and path only: a query string may carry personal data)
    and the utm_* parameters of the landing request.

    The Referer header is whatever the client typed: one that is not a
    well-formed http(s) address (a bad IPv6 host, an impossible port,
    non-ASCII bytes, an oversized value) is simply not recorded.
    """
    referrer = ""
    if referrer_header.isascii() and len(referrer_header) <= REFERRER_MAX_LENGTH:
        referrer = _referrer_origin_and_path(_printable(referrer_header))
    utm = {key: _printable(str(query.get(key, "")))[:100] for key in UTM_KEYS if query.get(key)}
    return referrer, utm


def _referrer_origin_and_path(header: str) -> str:
    try:
        parts = urlsplit(header)
        port = parts.port  # ValueError for a port that cannot exist
    except ValueError:  # urlsplit refuses "http://[x]/", "http://[::1", ...
        return ""
    host = parts.hostname or ""
    if parts.scheme not in {"http", "https"} or not REFERRER_HOST.fullmatch(host):
        return ""
    # Rebuilt from its parts: a user:password@ is dropped, and a host that
    # urlsplit only half understood ("[::1]]") does not come out the same.
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    if netloc != parts.netloc.rpartition("@")[2].lower():
        return ""
    return f"{parts.scheme}://{netloc}{parts.path}"[:300]


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


class PhoneField(forms.CharField):
    """A phone number in international form, cleaned to E.164 ("" if blank).

    A number is accepted when it is *possible* for its country (the right
    number of digits), not only when libphonenumber knows its range as
    assigned: its ranges lag behind operators (a new UK mobile range was
    refused), and a mistyped but possible number harms nobody, while refusing a
    real one turns a signer away. "00", the
    international prefix most of our signers dial, means "+". Each refusal
    says which of these is wrong, in the signer's language.
    """

    # Between digits people type spaces, dashes, dots, slashes, brackets and
    # "(0)"; libphonenumber reads all of these. Letters it would read as a
    # keypad ("+855 abc" as +855 222): we refuse those.
    FORMATTING = frozenset(" \t-./()\u00a0\u2010\u2011\u2012\u2013\u2212")
    PLUS = frozenset("+\uff0b")
    PARSE_ERRORS = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown_country_code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not_a_number",
        phonenumbers.NumberParseException.TOO_LONG: "max_length",
    }

    default_error_messages = {
        "not_a_number": _("Please enter a phone number in digits, like +855 12 345 678."),
        "country_code": _(
            "Please enter a phone number with its country code, like +855 12 345 678."
        ),
        "unknown_country_code": _(
            "This phone number does not start with a country code we know. Please check it, "
            "like +855 for Cambodia."
        ),
        "too_short": _("This phone number is too short for country code +%(code)s."),
        "too_long": _("This phone number is too long for country code +%(code)s."),
        "wrong_length": _(
            "This phone number has the wrong number of digits for country code +%(code)s."
        ),
        "short": _("This phone number is too short."),
        "max_length": _("This phone number is too long."),
    }

    def to_python(self, value: Any) -> str:
        typed = super().to_python(value)
        if not typed:
            return ""
        if self.max_length is not None and len(typed) > self.max_length:
            raise forms.ValidationError(self.error_messages["max_length"], "max_length")
        # Any script's digits (Khmer ០-៩ too) read as 0-9; formatting goes.
        compact = ""
        for char in typed:
            if char in self.FORMATTING or char.isspace():
                continue
            if char in self.PLUS:
                compact += "+"
            elif unicodedata.decimal(char, None) is not None:
                compact += str(unicodedata.decimal(char))
            else:
                raise forms.ValidationError(self.error_messages["not_a_number"], "not_a_number")
        if compact.startswith("00"):
            compact = "+" + compact[2:]
        elif compact.startswith("+00"):  # both prefixes at once
            compact = "+" + compact[3:]
        if "+" in compact[1:]:
            raise forms.ValidationError(self.error_messages["not_a_number"], "not_a_number")
        if not compact.startswith("+"):
            raise forms.ValidationError(self.error_messages["country_code"], "country_code")
        try:
            number = phonenumbers.parse(compact, None)
        except phonenumbers.NumberParseException as error:
            code = self.PARSE_ERRORS.get(error.error_type, "short")
            raise forms.ValidationError(self.error_messages[code], code) from error
        return self._possible(number)

    def _possible(self, number: phonenumbers.PhoneNumber) -> str:
        reason = phonenumbers.is_possible_number_with_reason(number)
        if reason == ValidationResult.IS_POSSIBLE:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        code = {
            ValidationResult.INVALID_COUNTRY_CODE: "unknown_country_code",
            ValidationResult.TOO_SHORT: "too_short",
            ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too_short",  # the area code is missing
            ValidationResult.TOO_LONG: "too_long",
        }.get(reason, "wrong_length")
        raise forms.ValidationError(
            self.error_messages[code], code, params={"code": number.country_code}
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
    # Shown only when a Telegram bot is configured (telegram_api.enabled()).
    confirm_by = forms.ChoiceField(
        label=_("How do you want to confirm your signature?"),
        choices=Signature.Channel.choices,
        initial=Signature.Channel.EMAIL,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Please choose e-mail or Telegram.")},
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
    phone = PhoneField(
        label=_("Phone number (optional)"),
        required=False,
        max_length=50,
        help_text=_("In international format, with the country code: +855 12 345 678."),
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
        # Django deep-copies a form's fields for every form, so that a form
        # may change its own: a fifth of the sign POST's CPU. A signing form
        # never changes them once they are set up for its campaign, language
        # and confirmation channels, so forms built for these share one set
        # while the campaign is kept (campaigns.published).
        by_telegram = telegram_api.enabled()
        self.base_fields = published_kept(  # type: ignore[misc]  # this form's, not the class's
            campaign,
            f"signing-fields:{get_language()}:{by_telegram}",
            lambda: _SharedFields(_fields_set_up(campaign, by_telegram=by_telegram)),
        )
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.questions = list(campaign.questions.all())
        self.bot_reason = ""
        self.suspect_reason = ""
        self.referrer = ""
        self.utm: dict[str, str] = {}
        self.telegram_token = ""  # noqa: S105 # nosec B105 # the start token, set by clean()
        self.claimed_token = ""  # noqa: S105 # nosec B105 # a form token to claim, set by clean()

    def fields_html(self) -> SafeString:
        """The fields as the page shows them. A fresh form's are the same for
        every reader in a language (the tokens are rendered apart), so they
        are rendered once per language while the campaign is kept
        (campaigns.published); a form with what a signer typed, every time."""

        def render() -> SafeString:
            return render_to_string("signatures/form_fields.html", {"form": self})

        if self.is_bound:
            return render()
        return published_rendered(self.campaign, f"signing-form:{get_language()}", render)

    @property
    def question_fields(self) -> list[forms.BoundField]:
        return [self[f"question_{question.key}"] for question in self.questions]

    def error_summary(self) -> list[tuple[forms.BoundField, str]]:
        """Each field's errors as the list above the form shows them: the
        field's label, then the message, joined the way the page's language
        joins them ("Full name: Please enter your name.", "ឈ្មោះពេញ៖ សូម...").
        A label that is already a sentence ("I agree ... campaign.", a question
        ending in "?") is followed by the message alone, never by "។:"."""
        summary = []
        for field in self.visible_fields():
            label = str(field.label or "").strip()
            for error in field.errors:
                if not label:
                    text = str(error)
                elif label.endswith(SENTENCE_ENDS):
                    text = f"{label} {error}"
                else:
                    # Translators: a field's label, then one of its errors, in the list of
                    # errors above the signing form. Khmer: ៖ rather than an ASCII colon.
                    text = gettext("%(label)s: %(error)s") % {"label": label, "error": error}
                summary.append((field, text))
        return summary

    def clean_full_name(self) -> str:
        return identity.name_checked(self.cleaned_data["full_name"])

    def clean_city(self) -> str:
        city = identity.name_clean(self.cleaned_data.get("city", ""))
        if city and (starts_like_formula(city) or identity.name_looks_like_url(city)):
            raise forms.ValidationError(_("Please enter only the name of your city."), code="city")
        return city

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.by_telegram:
            # Kept to a minimum: an address nobody needs is not stored.
            cleaned["email"] = ""
            self.telegram_token = secrets.token_urlsafe(16)
        elif "email" in self.fields and not cleaned.get("email") and "email" not in self.errors:
            self.add_error("email", self.fields["email"].error_messages["required"])
        if cleaned.get("website"):
            self.bot_reason = "honeypot"
        token = cleaned.get("form_token") or ""
        genuine = True  # one of our tokens, fresh or expired
        try:
            landing = signing.loads(token, salt=FORM_TOKEN_SALT, max_age=policy.FORM_TOKEN_MAX_AGE)
        except signing.SignatureExpired:
            landing = None  # a page left open for days: a person, not a bot
        except signing.BadSignature:
            landing = None
            genuine = False
            self.suspect_reason = "form without a valid token"
        shown_at = landing.get("t") if isinstance(landing, dict) else None
        if isinstance(landing, dict):
            if isinstance(shown_at, int):
                # Held for review, not dropped: phones autofill in under a second.
                self.suspect_reason = policy.fill_time_suspect_reason(shown_at=shown_at)
            referrer = landing.get("r")
            self.referrer = referrer[:300] if isinstance(referrer, str) else ""
            utm = landing.get("u")
            if isinstance(utm, dict):
                self.utm = {
                    str(key)[:20]: str(value)[:100] for key, value in utm.items() if key in UTM_KEYS
                }
        if self.errors:
            # Shown again to be corrected: a fresh token (still counting from
            # when the page was first shown), so the corrected form, or the
            # first page sent again after pressing back, is no token reuse.
            if genuine:
                data: Any = copy.copy(self.data)  # a mutable copy of a QueryDict too
                data[self.add_prefix("form_token")] = _signed_landing(
                    shown_at=shown_at if isinstance(shown_at, int) else int(time.time()),
                    referrer=self.referrer,
                    utm=self.utm,
                )
                self.data = data
        elif genuine and not self.bot_reason:
            # Its first use is claimed with the rate limits, in one round
            # trip to the cache (services.submission_screen).
            self.claimed_token = token
        return cleaned

    @property
    def by_telegram(self) -> bool:
        """The signer chose to confirm by Telegram."""
        return (
            "confirm_by" in self.fields
            and self.cleaned_data.get("confirm_by") == Signature.Channel.TELEGRAM
        )

    def signature_data(self) -> dict[str, Any]:
        """What the signature stores, from the cleaned form."""
        data = self.cleaned_data
        channel = Signature.Channel.TELEGRAM if self.by_telegram else Signature.Channel.EMAIL
        return {
            "channel": channel,
            "telegram_token": self.telegram_token,
            "full_name": data["full_name"],
            "email": data["email"],
            "phone": data.get("phone", ""),
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


class _SharedFields(dict[str, forms.Field]):
    """Fields set up once and shared by the forms built from them: a form
    gets a dict of its own holding the same fields (Django deep-copies a
    form's base fields; these copy shallow)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return dict(self)


def _fields_set_up(campaign: Campaign, *, by_telegram: bool) -> dict[str, forms.Field]:
    """A signing form's fields for this campaign in the current language:
    what the campaign asks, its questions, and the consent and opt-ins last."""
    fields = copy.deepcopy(SignatureForm.base_fields)
    if by_telegram:
        # Confirming by Telegram needs no address; clean() asks for one
        # when the signer confirms by e-mail.
        fields["email"].required = False
        fields["email"].help_text = _(
            "If you confirm by e-mail, we send you a link. It is never published."
        )
        fields["wants_updates"].label = _(
            "Send me news about this campaign, by e-mail or Telegram as I confirm"
        )
    else:
        del fields["confirm_by"]
    if not campaign.ask_phone:
        del fields["phone"]
    if not campaign.ask_city:
        del fields["city"]
    if campaign.ask_province:
        province_field = fields["province"]
        assert isinstance(province_field, forms.ChoiceField)
        province_field.choices = [("", _("Choose a province")), *province_choices()]
    else:
        del fields["province"]
    for question in campaign.questions.all():
        fields[f"question_{question.key}"] = _question_field(question)
    for name in ("consent", "show_publicly", "wants_updates", "website", "form_token"):
        fields[name] = fields.pop(name)
    return fields
