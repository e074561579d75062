from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class SignaturesConfig(AppConfig):
    name = "signatures"
    verbose_name = _("Signatures")

    def ready(self) -> None:
        from signatures.models import DomainRule, IpRule, SigningSettings
        from signatures.policy import forget_rules

        # Signing reads the rules from a few-second cache in each process: a
        # change made here is seen at once by this process, within seconds by others.
        for model in (SigningSettings, DomainRule, IpRule):
            for signal in (post_save, post_delete):
                signal.connect(lambda **kwargs: forget_rules(), sender=model, weak=False)
