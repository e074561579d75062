"""Load the committee's demo campaign and statements. Safe to run twice."""

import secrets
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns.demo import load_campaign
from statements.demo import load_statements

ORGANISER_EMAIL = "organiser@sitthi.local"


class Command(BaseCommand):
    help = "Load the demo campaign and statements from the committee's press releases."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-organiser", action="store_true", help="Do not create the demo organiser."
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        campaign = load_campaign()
        self.stdout.write(f"Campaign: {campaign.slug}")
        count = load_statements(campaign=campaign)
        self.stdout.write(f"Statements: {count}")
        if not options["no_organiser"] and settings.DEBUG:
            self._organiser()

    def _organiser(self) -> None:
        """A local organiser with a fresh password each run (DEBUG only)."""
        user_model = get_user_model()
        password = secrets.token_urlsafe(12)
        user, _created = user_model.objects.get_or_create(
            username="organiser", defaults={"email": ORGANISER_EMAIL, "is_staff": True}
        )
        user.email = ORGANISER_EMAIL
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        group = Group.objects.filter(name="Organiser").first()
        if group:
            user.groups.add(group)
        EmailAddress.objects.update_or_create(
            user=user, email=ORGANISER_EMAIL, defaults={"verified": True, "primary": True}
        )
        self.stdout.write(self.style.SUCCESS(f"Organiser login: {ORGANISER_EMAIL} / {password}"))
