"""Tell Telegram where to deliver the bot's updates:
`python manage.py telegram_set_webhook [--url https://.../telegram/webhook/]`.

Sets the secret Telegram sends back in a header with every update
(TELEGRAM_WEBHOOK_SECRET) and asks only for messages."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from core import telegram_api


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="", help="the webhook's address (default: SITE_URL's)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not telegram_api.enabled():
            raise CommandError("TELEGRAM_BOT_TOKEN is not set.")
        url = options["url"] or settings.SITE_URL + reverse("telegram-webhook")
        if not url.startswith("https://") and not settings.DEBUG:
            raise CommandError(f"Telegram delivers only to https addresses: {url}")
        try:
            telegram_api.webhook_set(url=url)
        except telegram_api.NotDone as error:
            raise CommandError(f"Telegram refused: {error}") from error
        self.stdout.write(f"Webhook set: {url}")
