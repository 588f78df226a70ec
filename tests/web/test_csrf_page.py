import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_form_posted_without_csrf_token_gets_the_friendly_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/signin", {"email": "a@example.com", "password": "x"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "This form expired" in body and "<!doctype html>" in body.lower()
