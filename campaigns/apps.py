from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from campaigns.models import Campaign, Question
        from campaigns.published import forget_published

        # Public pages read campaigns from a few-second cache in each process:
        # a change made here is seen at once by this process, within seconds by others.
        for model in (Campaign, Question):
            for signal in (post_save, post_delete):
                signal.connect(lambda **kwargs: forget_published(), sender=model, weak=False)
