"""A station clerk cannot read another station's customer: by page, by API, by guessing."""

import pytest

from gridcare.org import scoping
from gridcare.org.services import issue_token


def test_clerk_sees_only_own_station(world):
    visible = set(scoping.visible_unit_ids(world.clerk_east))
    assert world.east.pk in visible and world.east_crew.pk in visible
    assert world.west.pk not in visible and world.county.pk not in visible


def test_city_agent_sees_all_stations_below(world):
    visible = set(scoping.visible_unit_ids(world.agent))
    assert {world.east.pk, world.west.pk, world.mountain.pk} <= visible


def test_outsider_sees_nothing(world):
    assert scoping.visible_unit_ids(world.outsider) == []


def test_clerk_cannot_open_other_stations_customer_page(world, client):
    client.force_login(world.clerk_east)
    assert client.get(f"/customers/{world.customer_east.account_no}/").status_code == 200
    assert client.get(f"/customers/{world.customer_west.account_no}/").status_code == 404
    assert client.get("/customers/9999999999/").status_code == 404


def test_clerk_search_does_not_find_other_station(world, client):
    client.force_login(world.clerk_east)
    page = client.get("/customers/", {"q": world.customer_west.account_no}).content.decode()
    assert world.customer_west.name not in page
    page = client.get("/customers/", {"q": "13987654321"}).content.decode()
    assert world.customer_west.name not in page


def test_api_scoping_by_account_number_and_search(world, client):
    token = issue_token(user=world.clerk_east)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    own = client.get(f"/api/v1/customers/{world.customer_east.account_no}", **auth)
    assert own.status_code == 200 and own.json()["name"] == "张建国"
    other = client.get(f"/api/v1/customers/{world.customer_west.account_no}", **auth)
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    found = client.get("/api/v1/customers", {"q": world.customer_west.account_no}, **auth).json()
    assert found == []


def test_unit_switcher_narrows_and_refuses_foreign_units(world, client):
    client.force_login(world.agent)
    client.post("/unit/", {"unit": world.east.pk, "next": "/"})
    assert client.get(f"/customers/{world.customer_west.account_no}/").status_code == 404
    client.post("/unit/", {"unit": "", "next": "/"})
    assert client.get(f"/customers/{world.customer_west.account_no}/").status_code == 200
    client.force_login(world.clerk_east)
    assert client.post("/unit/", {"unit": world.west.pk}).status_code == 400


@pytest.mark.parametrize("header", ["", "Bearer nope", "Token abc"])
def test_api_rejects_missing_or_bad_token(world, client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/api/v1/customers", {"q": "张"}, **extra)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_token_revocation_and_role_changes_apply_at_once(world, client):
    """Tokens and scopes are remembered for a few seconds per process; a change empties that memory."""
    from gridcare.org.models import ApiToken, Role, RoleAssignment

    token = issue_token(user=world.clerk_east)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    west = f"/api/v1/customers/{world.customer_west.account_no}"
    assert client.get(west, **auth).status_code == 404
    RoleAssignment.objects.create(user=world.clerk_east, role=Role.BUSINESS_CLERK, unit=world.west)
    assert client.get(west, **auth).status_code == 200
    row = ApiToken.objects.get(user=world.clerk_east)
    row.revoked = True
    row.save()
    assert client.get(west, **auth).status_code == 401


def test_a_page_login_keeps_the_token_memory_but_deactivating_the_user_empties_it(world, client):
    from gridcare.org import services
    from gridcare.org.models import ApiToken

    token = issue_token(user=world.clerk_east)
    assert services.authenticate_token(token) is not None
    client.force_login(world.agent)  # saves the agent's last_login only
    kept = services._tokens.peek(ApiToken.hash_key(token))
    assert kept is not None, "a login emptied every process's token memory"
    world.clerk_east.is_active = False
    world.clerk_east.save()
    assert services.authenticate_token(token) is None


def test_unit_in_scope_is_the_one_answer_for_a_unit(world):
    from django.http import Http404

    from gridcare.core.api_errors import ApiError

    assert scoping.unit_in_scope(world.clerk_east, world.east) and scoping.unit_in_scope(
        world.clerk_east, world.east.pk
    )
    assert not scoping.unit_in_scope(world.clerk_east, world.west.pk)
    assert not scoping.unit_in_scope(world.clerk_east, None)
    assert scoping.unit_in_scope(world.agent, world.west)
    assert not scoping.unit_in_scope(world.agent, world.west, active_unit=world.east)  # the switcher narrows
    assert not scoping.unit_in_scope(world.outsider, world.east)
    with pytest.raises(Http404):
        scoping.require_unit_in_scope(world.clerk_east, world.west)
    with pytest.raises(ApiError) as caught:
        scoping.require_unit_in_scope(
            world.clerk_east, world.west, error=ApiError("invalid_crew", "x", status=422)
        )
    assert caught.value.status == 422
    scoping.require_unit_in_scope(world.clerk_east, world.east)
