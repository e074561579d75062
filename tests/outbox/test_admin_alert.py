import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from outbox.models import Message


@pytest.mark.django_db
def test_the_admin_front_page_warns_of_failing_email(client: Client) -> None:
    organiser = get_user_model().objects.create_superuser(
        "org", "org@ceroc.example", "long-enough-passphrase"
    )
    client.force_login(organiser)
    assert "could not be sent" not in client.get("/en/admin/").content.decode()

    Message.objects.create(
        key="x:1", to="a@example.org", subject="s", body_text="t", status=Message.Status.FAILED
    )
    page = client.get("/en/admin/").content.decode()
    assert "1 e-mail could not be sent after repeated attempts." in page
    listing = client.get("/en/admin/outbox/message/").content.decode()
    assert "could not be sent after repeated attempts" in listing
