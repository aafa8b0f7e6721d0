"""`flask demo-data` on a database of its own: the demo graph as the endpoints then show it,
a token per user, and the refusal to write into a database that holds other data."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from conftest import FreshContextClient, make_config, migrate_to_head
from service import create_app
from service.devsignin import DEV_AUDIENCE
from service.extensions import db


def make_demo_app(pg_server, jwks_path, tmp_path_factory):
    url = pg_server.create_database(prefix="pagenow_demo")
    application = create_app(make_config(url, jwks_path, cognito_region="", cognito_pool_id="",
                                         cognito_app_client_id=DEV_AUDIENCE, cognito_jwks_url=None,
                                         dev_sign_in_dir=str(tmp_path_factory.mktemp("demo") / "keys")))
    application.config["TESTING"] = True
    application.test_client_class = FreshContextClient
    migrate_to_head(application)
    yield application
    with application.app_context():
        db.engines[None].dispose()
    pg_server.drop_database(url)


@pytest.fixture(scope="module")
def demo_app(pg_server, jwks_path, tmp_path_factory):
    yield from make_demo_app(pg_server, jwks_path, tmp_path_factory)


@pytest.fixture()
def busy_app(pg_server, jwks_path, tmp_path_factory):
    """A database that already holds someone else's user."""
    for application in make_demo_app(pg_server, jwks_path, tmp_path_factory):
        with application.app_context():
            db.session.execute(text("INSERT INTO user_table (user_id, email, first_name, last_name)"
                                    " VALUES ('zed', 'zed@corp.example', 'Zed', 'Zimmer')"))
            db.session.commit()
        yield application


@pytest.fixture(scope="module")
def loaded(demo_app):
    """The command's output; later tests read what it wrote."""
    result = demo_app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    return result.output


def tokens_from(output: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^([A-Z]+)_TOKEN=(\S+)$", output, re.M)}


def get(client, path, token):
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, (path, response.get_json())
    return response.get_json()


def test_prints_a_working_token_for_each_demo_user(demo_app, loaded):
    tokens = tokens_from(loaded)
    assert sorted(tokens) == ["alice", "bob", "carol", "dave", "erin"]
    client = demo_app.test_client()
    for user_id, token in tokens.items():
        me = get(client, "/users/me", token)
        assert me["user_id"] == user_id and me["email"] == f"{user_id}@example.com"


def test_friends_requests_and_shares_as_the_endpoints_show_them(demo_app, loaded):
    tokens = tokens_from(loaded)
    client = demo_app.test_client()
    alice_friends = get(client, "/friendship/all", tokens["alice"])
    assert sorted(f["user_id"] for f in alice_friends) == ["bob", "carol"]
    requests_to_alice = get(client, "/friendship/requests", tokens["alice"])
    assert [r["user_id"] for r in requests_to_alice] == ["dave"]
    unread = get(client, "/notifications/share?is_read=false", tokens["alice"])
    assert sorted((n["user_id"], n["url"]) for n in unread) == [
        ("bob", "https://en.wikipedia.org/wiki/Hangul"),
        ("carol", "https://www.python.org/dev/peps/pep-0020/"),
    ]
    # Alice's broadcast reached both friends; Bob has read it, Carol has not.
    assert [n["url"] for n in get(client, "/notifications/share?is_read=true", tokens["bob"])] == [
        "https://github.com/pallets/flask"]
    assert [n["url"] for n in get(client, "/notifications/share?is_read=false", tokens["carol"])] == [
        "https://github.com/pallets/flask"]
    (sent,) = get(client, "/notifications/share/sent", tokens["alice"])
    assert sent["not_seen_count"] == 1
    found = get(client, "/users/search/name/anders", tokens["bob"])
    assert [u["user_id"] for u in found] == ["alice"]


def test_refuses_a_database_that_holds_data(demo_app, loaded):
    with demo_app.app_context():
        before = db.session.execute(text("SELECT count(*) FROM user_table")).scalar_one()
    runner = demo_app.test_cli_runner()
    refused = runner.invoke(args=["demo-data"])
    assert refused.exit_code == 1
    assert "already holds users, friendships or shares" in refused.output
    forced = runner.invoke(args=["demo-data", "--force"])
    assert forced.exit_code == 1
    assert "demo users exist already" in forced.output
    with demo_app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM user_table")).scalar_one() == before == 5


def test_other_data_needs_force_and_then_stays(busy_app):
    runner = busy_app.test_cli_runner()
    refused = runner.invoke(args=["demo-data"])
    assert refused.exit_code == 1
    assert "already holds users, friendships or shares" in refused.output
    with busy_app.app_context():
        assert db.session.execute(text("SELECT user_id FROM user_table")).scalars().all() == ["zed"]
    forced = runner.invoke(args=["demo-data", "--force"])
    assert forced.exit_code == 0, forced.output
    assert sorted(tokens_from(forced.output)) == ["alice", "bob", "carol", "dave", "erin"]
    with busy_app.app_context():
        users = db.session.execute(text("SELECT user_id FROM user_table ORDER BY user_id")).scalars().all()
    assert users == ["alice", "bob", "carol", "dave", "erin", "zed"]
