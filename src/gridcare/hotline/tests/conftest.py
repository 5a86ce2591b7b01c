"""What the hotline tests share: the CTI integration posting call events over the API."""

from __future__ import annotations

import pytest

from gridcare.org.models import Role
from gridcare.org.services import create_staff, issue_token


@pytest.fixture
def cti(world, client):
    integration = create_staff(
        username="cti", password=world.password, full_name="CTI接口", roles=[(Role.AGENT, world.city)]
    )
    token = issue_token(user=integration, name="CTI")

    def send(**body):
        return client.post(
            "/api/v1/calls", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    return send
