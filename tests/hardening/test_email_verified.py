"""Email ownership (API.md §8): POST and PUT /users/me store the token's email only when its
email_verified claim is true (a JSON boolean, or the string "true" as Cognito sends it for
some identities); otherwise 403 and nothing is stored. Other endpoints ignore the claim."""
from __future__ import annotations

import pytest

from users.helpers import update_body

REGISTRATION = {"first_name": "Ada", "last_name": "Lovelace"}
FORBIDDEN = "Your email address is not verified: verify it with the sign-in provider, then retry"


def user_rows(sql):
    return [tuple(r) for r in sql("SELECT user_id, email, first_name FROM user_table ORDER BY user_id").all()]


@pytest.mark.parametrize("claim", [None, False, "false", "True", "TRUE", "yes", 1, 0, "", ["true"], {"v": True}])
def test_registration_without_a_verified_email_is_403_and_stores_nothing(client, auth_headers, sql, claim):
    response = client.post("/users/me", json=REGISTRATION, headers=auth_headers("ada", email_verified=claim))
    assert response.status_code == 403, response.get_json()
    assert response.get_json() == {"message": FORBIDDEN}
    assert user_rows(sql) == []


@pytest.mark.parametrize("claim", [True, "true"])
def test_registration_with_a_verified_email(client, auth_headers, sql, claim):
    response = client.post("/users/me", json=REGISTRATION,
                           headers=auth_headers("ada", "ada@example.com", email_verified=claim))
    assert response.status_code == 200, response.get_json()
    assert user_rows(sql) == [("ada", "ada@example.com", "Ada")]


def test_an_unverified_claim_on_someone_elses_address_does_not_take_it(client, auth_headers, sql):
    """Mallory sets her email attribute to Ada's address (unverified): her registration is
    refused, so Ada can still register with it (no 409) and email search finds Ada."""
    mallory = auth_headers("mallory", "ada@example.com", email_verified=False)
    assert client.post("/users/me", json={"first_name": "M", "last_name": "X"}, headers=mallory).status_code == 403
    ada = auth_headers("ada", "ada@example.com")
    assert client.post("/users/me", json=REGISTRATION, headers=ada).status_code == 200
    assert user_rows(sql) == [("ada", "ada@example.com", "Ada")]


def test_profile_update_without_a_verified_email_is_403_and_changes_nothing(client, auth_headers, sql):
    assert client.post("/users/me", json=REGISTRATION, headers=auth_headers("ada", "ada@example.com")).status_code == 200
    before = sql("SELECT * FROM user_table").mappings().one()
    # The address changed in the pool but is not verified yet: neither it nor the body is stored.
    headers = auth_headers("ada", "new@example.com", email_verified=False)
    response = client.put("/users/me", json=update_body(first_name="Changed"), headers=headers)
    assert response.status_code == 403
    assert response.get_json() == {"message": FORBIDDEN}
    assert sql("SELECT * FROM user_table").mappings().one() == before
    # Once verified, the same update goes through with the new address.
    headers = auth_headers("ada", "new@example.com", email_verified="true")
    response = client.put("/users/me", json=update_body(first_name="Changed"), headers=headers)
    assert response.status_code == 200, response.get_json()
    assert user_rows(sql) == [("ada", "new@example.com", "Changed")]


def test_check_order_unregistered_and_invalid_body_come_first(client, auth_headers, sql):
    headers = auth_headers("ghost", email_verified=False)
    # API.md §1: validation (400) and "caller registered" (404) come before 403.
    assert client.put("/users/me", json=update_body(), headers=headers).status_code == 404
    assert client.post("/users/me", json={"first_name": 5}, headers=headers).status_code == 400
    assert client.put("/users/me", json=[1], headers=headers).status_code == 400
    assert user_rows(sql) == []


def test_other_endpoints_ignore_the_claim(client, auth_headers, sql):
    assert client.post("/users/me", json=REGISTRATION, headers=auth_headers("ada")).status_code == 200
    assert client.post("/users/me", json=REGISTRATION, headers=auth_headers("bob")).status_code == 200
    unverified = auth_headers("ada", email_verified=None)
    assert client.get("/users/me", headers=unverified).status_code == 200
    assert client.put("/users/me/domain_array/allow", json=["a.com"], headers=unverified).status_code == 200
    assert client.post("/friendship/requests", json={"user_id2": "bob"}, headers=unverified).status_code == 200
    assert client.post("/notifications/share", json={"url": "https://e.com/", "title": "t"},
                       headers=unverified).status_code == 200


def test_the_spec_documents_the_403(client):
    spec = client.get("/openapi.json").get_json()
    assert "403" in spec["paths"]["/users/me"]["post"]["responses"]
    assert "403" in spec["paths"]["/users/me"]["put"]["responses"]
