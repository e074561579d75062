"""Template helpers used on every page: `{% load sitthi %}`."""

from datetime import date, datetime
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from core.bilingual import LocalizedText, localized
from core.markup import render_markdown

register = template.Library()

KHMER_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")


def to_local_digits(text: str, language: str | None = None) -> str:
    """Khmer digits on Khmer pages (Django and babel never produce them)."""
    if (language or get_language() or "")[:2] == "km":
        return text.translate(KHMER_DIGITS)
    return text


@register.filter
def digits(value: Any) -> str:
    """The one filter for counts, dates and times: `{{ count|digits }}`,
    `{{ when|date:"DATE_FORMAT"|digits }}`. Numbers are grouped with the
    language's separator; on Khmer pages every digit is a Khmer digit."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int | float):
        text = number_format(value, force_grouping=True)
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    else:
        text = str(value)
    return to_local_digits(text)


@register.simple_tag(takes_context=True)
def text_of(context: dict[str, Any], obj: Any, field: str) -> LocalizedText:
    """`{% text_of campaign "title" as title %}`: the text in the page's language, or the other."""
    return localized(obj, field)


@register.filter
def markdown(value: Any) -> SafeString:
    return render_markdown(str(value or ""))


# Set in the context of a page rendered once for every reader: each
# `{% per_request %}` part then becomes this mark and the part's template
# name, which each request replaces with the part rendered for it
# (signatures.shared_pages).
PER_REQUEST_MARK = "PER_REQUEST_MARK"


@register.simple_tag(takes_context=True)
def per_request(context: template.Context, template_name: str) -> SafeString:
    """`{% per_request "signatures/figures.html" %}`: the template included
    here, with this page's context; or, on a page kept for every reader, a
    mark where each request puts it (the figures move between two renderings
    of the page; the page need not)."""
    mark = context.get(PER_REQUEST_MARK)
    if mark:
        return format_html("{}[{}]", mark, template_name)
    assert context.template is not None  # a tag renders inside a template
    part = context.template.engine.get_template(template_name)
    with context.push():
        return part.render(context)  # a SafeString, as an include's
