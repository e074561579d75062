from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The shared base: encrypted fields and keys, client IP, spreadsheet-safe
    text, bilingual helpers, staff roles and the audit record. It imports no
    other app of the project."""

    name = "core"
    verbose_name = _("Staff and audit")

    def ready(self) -> None:
        from allauth.account.signals import authentication_step_completed

        from core import roles

        # Groups are re-granted after every migrate, so permissions that other
        # apps add later (statements' publish/review) reach the right roles.
        post_migrate.connect(roles.groups_after_migrate, dispatch_uid="core.groups")
        authentication_step_completed.connect(
            roles.two_factor_step_completed, dispatch_uid="core.two_factor"
        )
