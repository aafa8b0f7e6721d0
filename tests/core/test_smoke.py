def test_ping(client):
    resp = client.get("/ping")
    assert resp.status_code == 200
    assert resp.get_json() == "pong"
    assert resp.headers["Content-Type"].startswith("application/json")


def test_register_and_get(client, auth_headers, sql):
    headers = auth_headers("u1")
    resp = client.post("/users/me", data='{"first_name": " Ada ", "last_name": "L", "dob": "1996-03-2"}',
                       headers={**headers, "Content-Type": "text/plain"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["first_name"] == "Ada" and body["dob"] == "1996-03-02"
    assert client.get("/users/me", headers=headers).get_json()["user_id"] == "u1"
    assert sql("select count(*) from user_table").scalar() == 1


def test_health_checks_database(client):
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok"}


def test_the_production_cli_has_the_service_commands_only(app):
    # The benchmark's seeder (bench/seed.py) truncates tables: it is not a command of the
    # service. db: Flask-Migrate; openapi: flask-smorest.
    assert sorted(app.cli.commands) == [
        "db", "delete-user", "demo-data", "dev-token", "openapi", "retry-image-deletions", "search-trigrams"]
