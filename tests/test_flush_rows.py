"""A flush in a test process writes back the rows post_migrate made
(tests/flush_rows.py): as complete as the receivers' own, whatever the test
before it changed, with sequences past them."""

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal

from core import roles


def _state() -> dict[str, Any]:
    return {
        "content types": set(ContentType.objects.values_list("app_label", "model")),
        "permissions": set(Permission.objects.values_list("content_type__app_label", "codename")),
        "groups": {
            group.name: set(group.permissions.values_list("codename", flat=True))
            for group in Group.objects.all()
        },
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("reset_sequences", [False, True])
def test_a_flush_puts_back_what_the_receivers_make_whatever_was_changed(
    reset_sequences: bool,
) -> None:
    call_command("flush", interactive=False, verbosity=0)  # the first may run the receivers
    Group.objects.get(name=roles.ORGANISER).permissions.clear()
    Group.objects.create(name="not a role")
    Permission.objects.filter(codename__startswith="view_").delete()
    ContentType.objects.filter(app_label="statements").delete()

    call_command("flush", interactive=False, verbosity=0, reset_sequences=reset_sequences)
    written_back = _state()
    assert "not a role" not in written_back["groups"]
    assert written_back["groups"][roles.ORGANISER]
    emit_post_migrate_signal(0, False, "default")  # the receivers themselves
    assert _state() == written_back  # they found nothing missing, nothing to change

    # New rows take ids past the ones written back.
    content_type = ContentType.objects.create(app_label="flush", model="test")
    Permission.objects.create(codename="flush_test", name="flush test", content_type=content_type)
    Group.objects.create(name="a new group").permissions.set(Permission.objects.all()[:3])
