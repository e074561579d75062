from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
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

        # Signing reads the rules from a few-second cache in each process: a
        # change made here is seen at once by this process, within seconds by others.
        from organisers.models import DomainRule, IpRule, SigningSettings
        from signatures.policy import forget_rules

        for model in (SigningSettings, DomainRule, IpRule):
            for signal in (post_save, post_delete):
                signal.connect(lambda **kwargs: forget_rules(), sender=model, weak=False)
