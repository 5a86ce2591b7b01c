import pytest


@pytest.mark.django_db
def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


@pytest.mark.django_db
def test_a_form_failing_its_csrf_check_gets_gridcares_own_page():
    """Nothing links out of the intranet: not Django's English CSRF page with its links to
    djangoproject.com."""
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "页面已过期" in page and "内容没有保存" in page
    assert "djangoproject" not in page and "http://" not in page and "https://" not in page
