"""GET /users/id/{user_id} and GET /users/ids/{ids} (API.md §3 UserPublic, §4.2, §5.3)."""
from __future__ import annotations

import datetime as dt

import pytest

from factories import make_user
from users.helpers import assert_error, assert_public_shape


def seed_users(sql, count: int, prefix: str = "bulk") -> list[str]:
    sql("INSERT INTO user_table(user_id, email, first_name, last_name) "
        "SELECT :p || g, :p || g || '@example.com', 'F' || g, 'L' FROM generate_series(1, :n) g",
        p=prefix, n=count)
    return [f"{prefix}{i}" for i in range(1, count + 1)]


def test_public_profile_hides_private_fields_by_default(client, db_conn):
    make_user("u1", "Ada", "Lovelace", email="ada@example.com", dob=dt.date(1990, 1, 2), gender="f",
              school="S", work="W", location="L", description="about me")
    resp = client.get("/users/id/u1")
    assert resp.status_code == 200
    body = resp.get_json()
    assert_public_shape(body)
    assert body == {
        "user_id": "u1",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "description": "about me",
        "profile_image_extension": None,
        "profile_image_uploaded_at": None,
        "dob": None,
        "gender": None,
        "school": None,
        "work": None,
        "location": None,
        "friendship_state": None,
        "mutual_friend_count": None,
    }


def test_public_profile_shows_fields_whose_flag_is_set(client, db_conn):
    make_user("u1", gender="f", school="S", work="W", location="L", dob=dt.date(1990, 1, 2),
              gender_public=True, work_public=True, email_public=True,
              profile_image_extension="png", profile_image_uploaded_at=dt.datetime(2024, 2, 3, 4, 5, 6, 7))
    body = client.get("/users/id/u1").get_json()
    assert_public_shape(body)
    assert (body["gender"], body["school"], body["work"], body["location"], body["dob"]) == (
        "f", None, "W", None, None)
    assert body["profile_image_extension"] == "png"
    assert body["profile_image_uploaded_at"] == "2024-02-03T04:05:06.000007"
    # email_public is stored but exposes nothing.
    assert "email" not in body


@pytest.mark.parametrize("flag", ["gender", "school", "work", "location"])
def test_each_privacy_flag_controls_only_its_field(client, db_conn, flag):
    values = {"gender": "g", "school": "s", "work": "w", "location": "l"}
    make_user("u1", **values, **{f"{flag}_public": True})
    body = client.get("/users/id/u1").get_json()
    for name, value in values.items():
        assert body[name] == (value if name == flag else None), name


def test_dob_is_public_only_if_a_sibling_set_dob_public(client, db_conn, sql):
    make_user("u1", dob=dt.date(1990, 1, 2))
    assert client.get("/users/id/u1").get_json()["dob"] is None
    sql("UPDATE user_table SET dob_public = true WHERE user_id = 'u1'")
    assert client.get("/users/id/u1").get_json()["dob"] == "1990-01-02"


def test_public_profile_of_unknown_user_is_404(client, db_conn):
    make_user("u1")
    assert_error(client.get("/users/id/U1"), 404)  # matched exactly, case-sensitive
    assert_error(client.get("/users/id/nobody"), 404)


def test_public_profile_path_is_url_decoded(client, db_conn):
    make_user("google_117 x@y")
    assert client.get("/users/id/google_117%20x%40y").get_json()["user_id"] == "google_117 x@y"


def test_public_endpoints_ignore_authorization_header(client, db_conn):
    make_user("u1")
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.get("/users/id/u1", headers=bad).status_code == 200
    assert client.get("/users/ids/u1", headers=bad).status_code == 200


def test_nul_in_path_is_400_not_a_server_error(client, db_conn):
    # PostgreSQL text cannot hold U+0000, so no id can contain it: bad request syntax.
    assert_error(client.get("/users/id/a%00b"), 400)
    assert_error(client.get("/users/ids/a%00b,c"), 400)


# --- /users/ids/{ids} --------------------------------------------------------------------


def test_ids_keep_input_order_dedupe_and_skip_unknown_and_empty(client, db_conn):
    for uid in ("a", "b", "c"):
        make_user(uid, first_name=uid.upper())
    resp = client.get("/users/ids/c,,unknown,a,c,b,a,")
    assert resp.status_code == 200
    body = resp.get_json()
    assert [entry["user_id"] for entry in body] == ["c", "a", "b"]
    for entry in body:
        assert_public_shape(entry)


def test_ids_apply_privacy(client, db_conn):
    make_user("a", school="S", school_public=True, work="W")
    make_user("b", school="T", work="V", work_public=True)
    body = client.get("/users/ids/a,b").get_json()
    assert [(e["school"], e["work"]) for e in body] == [("S", None), (None, "V")]


@pytest.mark.parametrize("path", [",", ",,,", "nobody", "x,y"])
def test_ids_with_nothing_to_return_give_empty_list(client, db_conn, path):
    resp = client.get(f"/users/ids/{path}")
    assert resp.status_code == 200
    assert resp.get_json() == []


def test_ids_accept_200_distinct_ids_with_duplicates(client, sql):
    ids = seed_users(sql, 200)
    resp = client.get("/users/ids/" + ",".join(ids + ids[:50] + [""]))
    assert resp.status_code == 200
    assert [e["user_id"] for e in resp.get_json()] == ids


def test_ids_reject_more_than_200_distinct(client, sql):
    ids = seed_users(sql, 201)
    assert_error(client.get("/users/ids/" + ",".join(ids)), 400)
    # Unknown ids count too: the limit is on the request, not on the matches.
    assert_error(client.get("/users/ids/" + ",".join(f"n{i}" for i in range(201))), 400)


def test_ids_encoded_commas_split_like_plain_ones(client, db_conn):
    make_user("a")
    make_user("b")
    assert [e["user_id"] for e in client.get("/users/ids/b%2Ca").get_json()] == ["b", "a"]
