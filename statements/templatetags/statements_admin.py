"""`{% statements_waiting_for_review as count %}` on the admin front page."""

from __future__ import annotations

from typing import Any

from django import template

from statements.admin import waiting_for_review

register = template.Library()


@register.simple_tag(takes_context=True)
def statements_waiting_for_review(context: dict[str, Any]) -> int | None:
    request = context.get("request")
    return waiting_for_review(request.user) if request is not None else None
