"""The staff groups are set up once per migrate or flush, with every permission."""

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management.sql import emit_post_migrate_signal

from core import roles

ROLES = (roles.ORGANISER, roles.CAMPAIGN_LEAD, roles.MODERATOR, roles.VIEWER)


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_every_staff_group_has_all_its_permissions() -> None:
    # A transactional test starts on a flushed database: only post_migrate
    # can have set the groups up again.
    for role in ROLES:
        group = Group.objects.get(name=role)
        expected = set(Permission.objects.filter(roles.role_permissions(role)))
        assert expected and set(group.permissions.all()) == expected, role


@pytest.mark.django_db
def test_the_groups_are_set_up_once_per_migrate_not_once_per_app(monkeypatch: Any) -> None:
    calls: list[None] = []
    monkeypatch.setattr(roles, "groups_ensure", lambda: calls.append(None))
    emit_post_migrate_signal(0, False, "default")
    assert len(calls) == 1
