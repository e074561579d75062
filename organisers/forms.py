from __future__ import annotations

import ipaddress
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from organisers.invalidation import Criteria
from organisers.paper import PAPER_MAX_BYTES
from signatures.countries import country_choices


class InvalidationForm(forms.Form):
    email_domain = forms.CharField(
        label=_("E-mail domain"),
        required=False,
        max_length=253,
        help_text=_("Also matches its subdomains, e.g. example.com."),
    )
    network = forms.CharField(
        label=_("IP address or range"),
        required=False,
        max_length=50,
        help_text=_("e.g. 203.0.113.7 or 203.0.113.0/24."),
    )
    signed_from = forms.DateTimeField(
        label=_("Signed from"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    signed_until = forms.DateTimeField(
        label=_("Signed before"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    country = forms.ChoiceField(
        label=_("Country of residence"),
        required=False,
        choices=lambda: [("", "—"), *country_choices()],
    )
    name_pattern = forms.CharField(
        label=_("Name pattern"),
        required=False,
        max_length=200,
        help_text=_("* stands for any letters, e.g. *test*. Any spelling variant matches."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)

    def clean_network(self) -> str:
        value = self.cleaned_data["network"].strip()
        if value:
            try:
                return str(ipaddress.ip_network(value, strict=False))
            except ValueError as error:
                raise forms.ValidationError(_("This is not an IP address or range.")) from error
        return value

    def clean_email_domain(self) -> str:
        return self.cleaned_data["email_domain"].strip().lower().lstrip("@")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and self.criteria().is_empty():
            raise forms.ValidationError(_("Give at least one criterion."))
        return data

    def criteria(self) -> Criteria:
        data = self.cleaned_data
        return Criteria(
            email_domain=data.get("email_domain") or "",
            network=data.get("network") or "",
            signed_from=data.get("signed_from"),
            signed_until=data.get("signed_until"),
            country=data.get("country") or "",
            name_pattern=(data.get("name_pattern") or "").strip(),
        )


class PaperImportForm(forms.Form):
    event = forms.CharField(
        label=_("Event"),
        max_length=200,
        help_text=_("Where and when the signatures were collected."),
    )
    file = forms.FileField(
        label=_("CSV or Excel file"),
        allow_empty_file=True,  # refused below, with the message of every other refusal
        help_text=_(
            "CSV (UTF-8, UTF-16 or Windows) or Excel (.xlsx). First row: full_name, email, "
            "phone, country, province, city, show_publicly. Nothing is imported before you "
            "confirm the preview."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > PAPER_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB: split it."))
        return upload


class DeliveryForm(forms.Form):
    with_names = forms.BooleanField(
        label=_("List the names of signers who agreed to be shown"),
        required=False,
        help_text=_("Leave unticked for the count-only version."),
    )
    language = forms.ChoiceField(
        label=_("Language of the document"),
        choices=[("km", "ខ្មែរ"), ("en", "English"), ("both", "ខ្មែរ + English")],
        initial="km",
    )
