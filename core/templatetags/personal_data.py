"""`{% personal_data_notice %}`: where personal data is hidden, say why and
how to get it, instead of leaving buttons and columns silently missing."""

from __future__ import annotations

from typing import Any

from django import template

from core.roles import HiddenBecause, personal_data_hidden_because

register = template.Library()


@register.inclusion_tag("includes/personal_data_notice.html", takes_context=True)
def personal_data_notice(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    because = personal_data_hidden_because(request) if request is not None else None
    return {
        # Plain strings: a template would call the enum class itself.
        "because": because.value if because else "",
        "reasons": {reason.name: reason.value for reason in HiddenBecause},
        "here": request.get_full_path() if request is not None else "",
    }
