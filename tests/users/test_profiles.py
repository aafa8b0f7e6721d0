"""POST/GET/PUT /users/me and PUT /users/me/domain_array/{share_type} (API.md §3, §4.2, §5.5)."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from service.timeutil import utcnow
from users.helpers import ALLOW_119, DENY_6, assert_error, assert_private_shape, update_body, user_row

REGISTRATION = {"first_name": "Ada", "last_name": "Lovelace"}


def post_me(client, headers, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    extra = {"Content-Type": content_type} if content_type else {}
    return client.post("/users/me", data=data, headers={**headers, **extra})


def register(client, auth_headers, user_id, email=None, **body):
    resp = post_me(client, auth_headers(user_id, email), {**REGISTRATION, **body})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def count_users(sql) -> int:
    return sql("SELECT count(*) FROM user_table").scalar()


# --- POST /users/me -------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "text/plain;charset=UTF-8", None])
def test_register_parses_json_whatever_the_content_type(client, auth_headers, sql, content_type):
    resp = post_me(client, auth_headers("u1"), REGISTRATION, content_type=content_type)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["first_name"] == "Ada"
    assert user_row(sql, "u1")["last_name"] == "Lovelace"


def test_register_returns_private_profile_with_defaults(client, auth_headers, sql):
    before = utcnow()
    resp = post_me(client, auth_headers("u1", "ada@example.com"), REGISTRATION, content_type="text/plain")
    after = utcnow()
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.get_json()
    assert_private_shape(body)
    assert body == {
        "user_id": "u1",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "description": "",
        "dob": None,
        "gender": "",
        "school": "",
        "work": "",
        "location": "",
        "email_public": False,
        "dob_public": False,
        "gender_public": False,
        "school_public": False,
        "work_public": False,
        "location_public": False,
        "share_mode": "default_none",
        "domain_allow_array": ALLOW_119,
        "domain_deny_array": DENY_6,
        "profile_image_extension": None,
        "profile_image_uploaded_at": None,
        "friendship_state": None,
        "mutual_friend_count": None,
    }
    row = user_row(sql, "u1")
    assert row["email"] == "ada@example.com"
    assert row["domain_allow_array"] == ALLOW_119 and row["domain_deny_array"] == DENY_6
    assert row["share_mode"] == "default_none" and row["description"] == ""
    assert not any(row[f"{name}_public"] for name in ("email", "dob", "gender", "school", "work", "location"))
    assert row["profile_image_extension"] is None and row["profile_image_uploaded_at"] is None
    # created_at is explicit naive UTC, not the database session's local time.
    assert before - dt.timedelta(seconds=1) <= row["created_at"] <= after + dt.timedelta(seconds=1)


def test_register_stores_dob_and_gender_and_trims_names(client, auth_headers, sql):
    resp = post_me(client, auth_headers("u1"),
                   {"first_name": "  Ada ", "last_name": "\tLovelace\n", "dob": "1996-03-2", "gender": "female"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["first_name"], body["last_name"], body["dob"], body["gender"]) == (
        "Ada", "Lovelace", "1996-03-02", "female")
    row = user_row(sql, "u1")
    assert (row["first_name"], row["last_name"], row["dob"], row["gender"]) == (
        "Ada", "Lovelace", dt.date(1996, 3, 2), "female")


@pytest.mark.parametrize("dob, stored", [
    ("1996-03-02", dt.date(1996, 3, 2)),
    ("1996-3-2", dt.date(1996, 3, 2)),
    ("1996-12-31", dt.date(1996, 12, 31)),
    ("2000-02-29", dt.date(2000, 2, 29)),
    (None, None),
])
def test_register_accepts_dob_forms(client, auth_headers, sql, dob, stored):
    resp = post_me(client, auth_headers("u1"), {**REGISTRATION, "dob": dob})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["dob"] == (stored.isoformat() if stored else None)
    assert user_row(sql, "u1")["dob"] == stored


def test_register_accepts_today_as_dob(client, auth_headers, sql):
    today = dt.datetime.now(dt.timezone.utc).date()
    resp = post_me(client, auth_headers("u1"), {**REGISTRATION, "dob": today.isoformat()})
    assert resp.status_code == 200
    assert user_row(sql, "u1")["dob"] == today


def test_register_ignores_unknown_and_read_only_fields(client, auth_headers, sql):
    body = {**REGISTRATION, "user_id": "someone-else", "email": "evil@example.com", "description": "nope",
            "share_mode": "default_all", "school": "x", "school_public": True, "profile_image_extension": "png",
            "frist_name": "typo", "created_at": "2001-01-01T00:00:00"}
    resp = post_me(client, auth_headers("u1", "u1@example.com"), body)
    assert resp.status_code == 200
    assert user_row(sql, "someone-else") is None
    row = user_row(sql, "u1")
    assert row["email"] == "u1@example.com"
    assert (row["description"], row["share_mode"], row["school"], row["school_public"]) == (
        "", "default_none", "", False)
    assert row["profile_image_extension"] is None
    assert row["created_at"].year != 2001


TOO_LONG_NAME = "x" * 101
FUTURE = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=2)).isoformat()


@pytest.mark.parametrize("body", [
    pytest.param({"last_name": "L"}, id="first_name-missing"),
    pytest.param({"first_name": "A"}, id="last_name-missing"),
    pytest.param({"first_name": "", "last_name": "L"}, id="first_name-empty"),
    pytest.param({"first_name": "   ", "last_name": "L"}, id="first_name-whitespace"),
    pytest.param({"first_name": "A", "last_name": " \t\n"}, id="last_name-whitespace"),
    pytest.param({"first_name": TOO_LONG_NAME, "last_name": "L"}, id="first_name-101"),
    pytest.param({"first_name": "A", "last_name": TOO_LONG_NAME}, id="last_name-101"),
    pytest.param({"first_name": 5, "last_name": "L"}, id="first_name-int"),
    pytest.param({"first_name": None, "last_name": "L"}, id="first_name-null"),
    pytest.param({"first_name": ["A"], "last_name": "L"}, id="first_name-array"),
    pytest.param({"first_name": "A", "last_name": True}, id="last_name-bool"),
    pytest.param({**REGISTRATION, "dob": "1996-02-30"}, id="dob-not-a-date"),
    pytest.param({**REGISTRATION, "dob": "1997-02-29"}, id="dob-not-leap"),
    pytest.param({**REGISTRATION, "dob": "1996-13-01"}, id="dob-month-13"),
    pytest.param({**REGISTRATION, "dob": "1996-00-10"}, id="dob-month-0"),
    pytest.param({**REGISTRATION, "dob": FUTURE}, id="dob-future"),
    pytest.param({**REGISTRATION, "dob": "96-03-02"}, id="dob-two-digit-year"),
    pytest.param({**REGISTRATION, "dob": "1996/03/02"}, id="dob-slashes"),
    pytest.param({**REGISTRATION, "dob": "1996-03-002"}, id="dob-three-digit-day"),
    pytest.param({**REGISTRATION, "dob": "1996-03-02T00:00:00"}, id="dob-datetime"),
    pytest.param({**REGISTRATION, "dob": "1996-03-02\n"}, id="dob-trailing-newline"),
    pytest.param({**REGISTRATION, "dob": "\u0661\u0669\u0669\u0666-03-02"}, id="dob-non-ascii-digits"),
    pytest.param({**REGISTRATION, "dob": ""}, id="dob-empty"),
    pytest.param({**REGISTRATION, "dob": 19960302}, id="dob-int"),
    pytest.param({**REGISTRATION, "gender": "x" * 201}, id="gender-201"),
    pytest.param({**REGISTRATION, "gender": 3}, id="gender-int"),
    pytest.param({"first_name": "A\u0000", "last_name": "L"}, id="nul-character"),
])
def test_register_rejects_invalid_fields(client, auth_headers, sql, body):
    resp = post_me(client, auth_headers("u1"), body)
    assert_error(resp, 400)
    assert count_users(sql) == 0


@pytest.mark.parametrize("raw", [
    pytest.param("{bad json", id="malformed"),
    pytest.param('{"first_name": "A", "last_name": "L"', id="truncated"),
    pytest.param("[]", id="array"),
    pytest.param('[{"first_name": "A", "last_name": "L"}]', id="array-of-object"),
    pytest.param('"{\\"first_name\\": \\"A\\"}"', id="string"),
    pytest.param("42", id="number"),
    pytest.param("null", id="null"),
    pytest.param("", id="empty"),
    pytest.param(b"\xff\xfe\x00", id="not-utf8"),
])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_register_rejects_malformed_or_wrong_top_level_body(client, auth_headers, sql, raw, content_type):
    resp = post_me(client, auth_headers("u1"), raw, content_type=content_type)
    assert_error(resp, 400)
    assert count_users(sql) == 0


def test_register_boundaries_accepted(client, auth_headers, sql):
    resp = post_me(client, auth_headers("u1"), {"first_name": "f" * 100, "last_name": " " + "l" * 100 + " ",
                                                "gender": "g" * 200})
    assert resp.status_code == 200
    row = user_row(sql, "u1")
    assert (len(row["first_name"]), len(row["last_name"]), len(row["gender"])) == (100, 100, 200)


def test_register_null_gender_defaults_to_empty(client, auth_headers, sql):
    resp = post_me(client, auth_headers("u1"), {**REGISTRATION, "gender": None})
    assert resp.status_code == 200
    assert user_row(sql, "u1")["gender"] == ""


def test_register_twice_is_400_and_keeps_the_row(client, auth_headers, sql):
    register(client, auth_headers, "u1", dob="1990-01-01")
    before = user_row(sql, "u1")
    resp = post_me(client, auth_headers("u1"), {"first_name": "Other", "last_name": "Name"})
    assert_error(resp, 400)
    assert user_row(sql, "u1") == before


def test_register_with_email_of_another_user_is_409(client, auth_headers, sql):
    register(client, auth_headers, "u1", email="shared@example.com")
    resp = post_me(client, auth_headers("u2", "shared@example.com"), REGISTRATION)
    assert_error(resp, 409)
    assert user_row(sql, "u2") is None
    assert count_users(sql) == 1


def test_register_requires_token_before_validating_body(client, sql):
    resp = client.post("/users/me", data="{bad json")
    assert_error(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert count_users(sql) == 0


# --- GET /users/me ----------------------------------------------------------------------


def test_get_me_unregistered_is_404_user_not_found(client, auth_headers):
    resp = client.get("/users/me", headers=auth_headers("nobody"))
    assert_error(resp, 404)
    assert resp.get_json()["message"] == "User not found"


def test_get_me_returns_what_registration_returned(client, auth_headers):
    created = register(client, auth_headers, "u1", dob="1996-03-2", gender="f")
    resp = client.get("/users/me", headers=auth_headers("u1"))
    assert resp.status_code == 200
    assert resp.get_json() == created
    assert_private_shape(resp.get_json())


def test_get_me_returns_each_callers_own_profile(client, auth_headers):
    register(client, auth_headers, "u1", first_name="One")
    register(client, auth_headers, "u2", first_name="Two")
    assert client.get("/users/me", headers=auth_headers("u1")).get_json()["first_name"] == "One"
    assert client.get("/users/me", headers=auth_headers("u2")).get_json()["first_name"] == "Two"


def test_timestamps_serialize_without_offset(client, auth_headers, sql):
    register(client, auth_headers, "u1")
    sql("UPDATE user_table SET profile_image_extension = 'png', profile_image_uploaded_at = :ts WHERE user_id = 'u1'",
        ts=dt.datetime(2024, 5, 6, 7, 8, 9, 123456))
    assert client.get("/users/me", headers=auth_headers("u1")).get_json()["profile_image_uploaded_at"] == (
        "2024-05-06T07:08:09.123456")
    assert client.get("/users/id/u1").get_json()["profile_image_uploaded_at"] == "2024-05-06T07:08:09.123456"
    sql("UPDATE user_table SET profile_image_uploaded_at = :ts WHERE user_id = 'u1'",
        ts=dt.datetime(2024, 5, 6, 7, 8, 9))
    assert client.get("/users/me", headers=auth_headers("u1")).get_json()["profile_image_uploaded_at"] == (
        "2024-05-06T07:08:09")


# --- PUT /users/me ----------------------------------------------------------------------


def put_me(client, headers, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    extra = {"Content-Type": content_type} if content_type else {}
    return client.put("/users/me", data=data, headers={**headers, **extra})


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_update_replaces_editable_fields(client, auth_headers, sql, content_type):
    register(client, auth_headers, "u1", dob="1990-05-06", gender="m")
    resp = put_me(client, auth_headers("u1"), update_body(), content_type=content_type)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert_private_shape(body)
    expected = update_body()
    for name, value in expected.items():
        assert body[name] == value, name
    assert body["dob"] == "1990-05-06" and body["dob_public"] is False
    row = user_row(sql, "u1")
    for name, value in expected.items():
        assert row[name] == value, name
    # Domain arrays are stored as sent: duplicates and order kept.
    assert row["domain_allow_array"] == ["b.com", "a.com", "b.com"]


def test_update_ignores_read_only_fields_and_rereads_email_from_token(client, auth_headers, sql):
    register(client, auth_headers, "u1", email="old@example.com", dob="1990-05-06")
    sql("UPDATE user_table SET profile_image_extension = 'jpg', profile_image_uploaded_at = :ts WHERE user_id = 'u1'",
        ts=dt.datetime(2024, 1, 2, 3, 4, 5))
    before = user_row(sql, "u1")
    body = update_body(user_id="hijack", email="body@example.com", dob="2001-01-01", dob_public=True,
                       profile_image_extension="gif", profile_image_uploaded_at="2020-01-01T00:00:00",
                       created_at="2001-01-01T00:00:00", friendship_state=2, unknown_field={"x": 1})
    resp = put_me(client, auth_headers("u1", "new@example.com"), body)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["email"] == "new@example.com"
    assert resp.get_json()["friendship_state"] is None
    row = user_row(sql, "u1")
    assert row["email"] == "new@example.com"
    for name in ("user_id", "dob", "dob_public", "profile_image_extension", "profile_image_uploaded_at",
                 "created_at"):
        assert row[name] == before[name], name
    assert user_row(sql, "hijack") is None


def test_update_boundaries_accepted(client, auth_headers, sql):
    register(client, auth_headers, "u1")
    body = update_body(first_name="f" * 100, description="d" * 500, gender="g" * 200, school="",
                       work="w" * 200, location="", share_mode="default_none", domain_deny_array=[],
                       domain_allow_array=["d" * 253] + [f"site{i}.com" for i in range(999)])
    resp = put_me(client, auth_headers("u1"), body)
    assert resp.status_code == 200, resp.get_json()
    row = user_row(sql, "u1")
    assert len(row["domain_allow_array"]) == 1000 and row["domain_deny_array"] == []
    assert (len(row["description"]), len(row["gender"]), row["school"], row["share_mode"]) == (
        500, 200, "", "default_none")


BAD_UPDATES = [
    ("first_name", ""), ("first_name", "   "), ("first_name", "x" * 101), ("first_name", 5), ("first_name", None),
    ("last_name", ""), ("last_name", " "), ("last_name", "x" * 101), ("last_name", ["L"]),
    ("description", "x" * 501), ("description", 5), ("description", None),
    ("share_mode", "default_some"), ("share_mode", ""), ("share_mode", "DEFAULT_ALL"), ("share_mode", None),
    ("share_mode", 1),
    ("domain_allow_array", [""]), ("domain_allow_array", [1]), ("domain_allow_array", ["ok.com", None]),
    ("domain_allow_array", "a.com"), ("domain_allow_array", ["d" * 254]), ("domain_allow_array", ["d"] * 1001),
    ("domain_allow_array", {"a.com": True}), ("domain_allow_array", [["a.com"]]), ("domain_allow_array", None),
    ("domain_deny_array", [""]), ("domain_deny_array", [True]), ("domain_deny_array", ["x"] * 1001),
    ("gender", "x" * 201), ("gender", 1), ("gender", None),
    ("school", "x" * 201), ("school", None), ("work", "x" * 201), ("work", []), ("location", "x" * 201),
    ("location", {"city": "x"}),
    ("email_public", "true"), ("email_public", 1), ("email_public", None),
    ("gender_public", "false"), ("gender_public", 0), ("school_public", "yes"), ("work_public", "True"),
    ("location_public", 1.0), ("location_public", []),
    ("school", "nul\u0000byte"),
]


@pytest.mark.parametrize("field, value", BAD_UPDATES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_UPDATES)])
def test_update_rejects_invalid_fields_and_changes_nothing(client, auth_headers, sql, field, value):
    register(client, auth_headers, "u1")
    before = user_row(sql, "u1")
    resp = put_me(client, auth_headers("u1", "changed@example.com"), update_body(**{field: value}))
    assert_error(resp, 400)
    assert user_row(sql, "u1") == before


@pytest.mark.parametrize("field", sorted(update_body()))
def test_update_requires_every_field(client, auth_headers, sql, field):
    register(client, auth_headers, "u1")
    before = user_row(sql, "u1")
    body = update_body()
    del body[field]
    resp = put_me(client, auth_headers("u1"), body)
    assert_error(resp, 400)
    assert field in resp.get_json()["message"]
    assert user_row(sql, "u1") == before


@pytest.mark.parametrize("raw", ["{bad", "[]", '"text"', "7", "null", "", "true"])
def test_update_rejects_malformed_or_wrong_top_level_body(client, auth_headers, sql, raw):
    register(client, auth_headers, "u1")
    before = user_row(sql, "u1")
    assert_error(put_me(client, auth_headers("u1"), raw, content_type="text/plain"), 400)
    assert user_row(sql, "u1") == before


def test_update_unregistered_is_404(client, auth_headers, sql):
    assert_error(put_me(client, auth_headers("ghost"), update_body()), 404)
    assert count_users(sql) == 0


def test_update_validates_before_checking_registration(client, auth_headers):
    # Check order: field validation (400) comes before "caller registered" (404).
    assert_error(put_me(client, auth_headers("ghost"), update_body(share_mode="bogus")), 400)


def test_update_with_token_email_owned_by_another_user_is_409(client, auth_headers, sql):
    register(client, auth_headers, "u1", email="one@example.com")
    register(client, auth_headers, "u2", email="two@example.com")
    before = user_row(sql, "u1")
    resp = put_me(client, auth_headers("u1", "two@example.com"), update_body())
    assert_error(resp, 409)
    assert user_row(sql, "u1") == before
    assert user_row(sql, "u2")["email"] == "two@example.com"


# --- PUT /users/me/domain_array/{share_type} -------------------------------------------------


def put_domains(client, headers, share_type, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    extra = {"Content-Type": content_type} if content_type else {}
    return client.put(f"/users/me/domain_array/{share_type}", data=data, headers={**headers, **extra})


@pytest.mark.parametrize("share_type, column, other", [
    ("allow", "domain_allow_array", "domain_deny_array"),
    ("deny", "domain_deny_array", "domain_allow_array"),
])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_domain_array_replaces_one_list_only(client, auth_headers, sql, share_type, column, other, content_type):
    register(client, auth_headers, "u1")
    sql("UPDATE user_table SET share_mode = 'default_all' WHERE user_id = 'u1'")
    before = user_row(sql, "u1")
    domains = ["z.com", "a.com", "z.com"]
    resp = put_domains(client, auth_headers("u1"), share_type, domains, content_type=content_type)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert_private_shape(body)
    assert body[column] == domains
    assert body[other] == before[other]
    assert body["share_mode"] == "default_all"
    row = user_row(sql, "u1")
    assert row[column] == domains
    assert {k: v for k, v in row.items() if k != column} == {k: v for k, v in before.items() if k != column}


def test_domain_array_accepts_empty_and_1000_items(client, auth_headers, sql):
    register(client, auth_headers, "u1")
    assert put_domains(client, auth_headers("u1"), "deny", []).status_code == 200
    assert user_row(sql, "u1")["domain_deny_array"] == []
    many = [f"d{i}.example" for i in range(999)] + ["x" * 253]
    assert put_domains(client, auth_headers("u1"), "allow", many).status_code == 200
    assert user_row(sql, "u1")["domain_allow_array"] == many


@pytest.mark.parametrize("body", [
    pytest.param([""], id="empty-string"),
    pytest.param(["ok.com", ""], id="one-empty"),
    pytest.param([1], id="number"),
    pytest.param(["ok.com", None], id="null-item"),
    pytest.param([["a.com"]], id="nested"),
    pytest.param([{"domain": "a.com"}], id="object-item"),
    pytest.param(["x" * 254], id="too-long"),
    pytest.param(["d.com"] * 1001, id="1001-items"),
    pytest.param({"domains": ["a.com"]}, id="object"),
    pytest.param("a.com", id="string"),
    pytest.param(None, id="null"),
    pytest.param("{bad", id="malformed"),
    pytest.param("", id="empty-body"),
    pytest.param(["a\u0000.com"], id="nul-character"),
])
def test_domain_array_rejects_non_string_arrays(client, auth_headers, sql, body):
    register(client, auth_headers, "u1")
    before = user_row(sql, "u1")
    raw = body if isinstance(body, str) and (body in ("", "{bad")) else json.dumps(body)
    assert_error(put_domains(client, auth_headers("u1"), "allow", raw, content_type="text/plain"), 400)
    assert user_row(sql, "u1") == before


@pytest.mark.parametrize("share_type", ["both", "ALLOW", "Allow", "allowed", "", "deny "])
def test_domain_array_bad_share_type_is_400_before_registration(client, auth_headers, share_type):
    # Unregistered caller: the share_type check (400) must still come first.
    resp = put_domains(client, auth_headers("ghost"), share_type.replace(" ", "%20"), ["a.com"])
    if share_type == "":
        # /users/me/domain_array/ has no share_type segment: an unknown path.
        assert_error(resp, 404)
    else:
        assert_error(resp, 400)


def test_domain_array_invalid_body_is_400_before_registration(client, auth_headers):
    assert_error(put_domains(client, auth_headers("ghost"), "deny", [1, 2]), 400)


def test_domain_array_unregistered_is_404(client, auth_headers, sql):
    assert_error(put_domains(client, auth_headers("ghost"), "allow", ["a.com"]), 404)
    assert count_users(sql) == 0


def test_domain_array_needs_a_token(client):
    assert_error(put_domains(client, {}, "bogus", "{bad"), 401)
