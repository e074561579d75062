from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class StaffOnlyAccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by organisers; nobody signs up publicly."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
