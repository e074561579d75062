import pytest
from django.contrib.auth import get_user_model
from django.test import Client


@pytest.fixture
def staff(db: None):
    from allauth.account.models import EmailAddress

    user = get_user_model().objects.create_user(
        username="dara",
        email="dara@ceroc.example",
        password="long-enough-passphrase",
        is_staff=True,
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def test_nobody_can_sign_up_as_staff(client: Client, db: None) -> None:
    response = client.post(
        "/en/accounts/signup/",
        {
            "email": "intruder@example.org",
            "password1": "x-long-passphrase-1",
            "password2": "x-long-passphrase-1",
        },
    )
    assert get_user_model().objects.count() == 0
    assert response.status_code == 200
    assert "closed" in response.content.decode().lower()


def test_the_admin_sends_staff_to_the_allauth_sign_in(client: Client, db: None) -> None:
    response = client.get("/en/admin/")
    assert response.status_code == 302
    assert "/en/admin/login/" in response["Location"]
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert "/en/accounts/login/" in response["Location"]


def test_staff_sign_in_with_email_and_password_reaches_the_admin(client: Client, staff) -> None:
    page = client.get("/km/accounts/login/")
    assert page.status_code == 200
    assert '<html lang="km">' in page.content.decode()
    response = client.post(
        "/en/accounts/login/?next=/en/admin/",
        {"login": "dara@ceroc.example", "password": "long-enough-passphrase"},
    )
    assert response.status_code == 302
    assert client.get("/en/admin/").status_code == 200


def test_a_wrong_password_does_not_sign_in(client: Client, staff) -> None:
    client.post("/en/accounts/login/", {"login": "dara@ceroc.example", "password": "wrong"})
    assert client.get("/en/admin/").status_code == 302


def test_two_factor_setup_is_available_to_staff(client: Client, staff) -> None:
    client.post(
        "/en/accounts/login/", {"login": "dara@ceroc.example", "password": "long-enough-passphrase"}
    )
    # allauth asks for the password again before changing two-factor settings.
    client.post("/en/accounts/reauthenticate/", {"password": "long-enough-passphrase"})
    response = client.get("/en/accounts/2fa/totp/activate/")
    assert response.status_code == 200
    assert "otpauth://" in response.content.decode() or "svg" in response.content.decode()
