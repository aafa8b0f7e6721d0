"""The broadcast share with real commits: one statement, all or nothing."""
from __future__ import annotations

from sqlalchemy import create_engine, event, text

from service.extensions import db

from .test_races import befriend, database, race_app, register, signer  # noqa: F401 (fixtures)

BODY = {"url": "https://example.com/a", "title": "A"}


def _statements(app) -> list:
    """Every statement the app sends from now on."""
    sent: list = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda conn, cur, stmt, *a: sent.append(stmt))
    return sent


def test_broadcast_is_one_statement(race_app, signer, database):
    register(race_app, signer, "ann", "bob", "cat")
    befriend(race_app, signer, "ann", "bob")
    befriend(race_app, signer, "cat", "ann")
    sent = _statements(race_app)

    response = race_app.test_client().post("/notifications/share", headers=signer.headers("ann"), json=BODY)

    assert response.status_code == 200
    assert len(sent) == 1 and "INSERT INTO share_notification_seen_table" in sent[0]
    rows = database("SELECT s.user_id FROM share_notification_seen_table s "
                    "JOIN share_notification_table n USING (event_id) WHERE n.event_id::text = :e ORDER BY 1",
                    e=response.get_json())
    assert [r[0] for r in rows] == ["bob", "cat"]


def test_unregistered_sender_writes_nothing(race_app, signer, database):
    response = race_app.test_client().post("/notifications/share", headers=signer.headers("ghost"), json=BODY)
    assert response.status_code == 404 and response.get_json() == {"message": "User not found"}
    assert database("SELECT count(*) FROM share_notification_table")[0][0] == 0


def _ddl(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def test_failure_in_the_fan_out_leaves_no_notification(race_app, signer, database, scratch_db):
    register(race_app, signer, "ann", "bob", "cat")
    befriend(race_app, signer, "ann", "bob")
    befriend(race_app, signer, "ann", "cat")
    _ddl(scratch_db, """
        CREATE FUNCTION refuse_cat() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.user_id = 'cat' THEN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_cat BEFORE INSERT ON share_notification_seen_table
            FOR EACH ROW EXECUTE FUNCTION refuse_cat();
    """)

    response = race_app.test_client().post("/notifications/share", headers=signer.headers("ann"), json=BODY)

    assert response.status_code == 409 and "refused" not in response.get_data(as_text=True)
    assert database("SELECT count(*) FROM share_notification_table")[0][0] == 0
    assert database("SELECT count(*) FROM share_notification_seen_table")[0][0] == 0
    # The connection went back to the pool usable: the next broadcast (to bob only) works.
    _ddl(scratch_db, "DROP TRIGGER refuse_cat ON share_notification_seen_table")
    again = race_app.test_client().post("/notifications/share", headers=signer.headers("ann"), json=BODY)
    assert again.status_code == 200
    assert database("SELECT count(*) FROM share_notification_seen_table")[0][0] == 2
