from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class OrganisersConfig(AppConfig):
    name = "organisers"
    verbose_name = _("Organisers")

    def ready(self) -> None:
        from organisers import audit, roles

        # Groups are re-granted after every migrate, so permissions that other
        # apps add later (statements' publish/review) reach the right roles.
        post_migrate.connect(roles.groups_after_migrate, dispatch_uid="organisers.groups")
        audit.connect_admin_log()
