"""Migrations against real PostgreSQL (API.md §6): empty database -> head matches the models
and the contract, the sibling services' SQL of §6.1 runs unchanged, an existing production
database is adopted with `flask db stamp 0001_initial` + `flask db upgrade`, and downgrade
to base works."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import psycopg2
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, stamp, upgrade
from sqlalchemy import create_engine, inspect

from revisions import load_revision
from service.extensions import db
from service.search.models import include_object_for
from service.timeutil import utcnow
from tokens import CLIENT_ID, POOL_ID, REGION

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = {"user_table", "friendship_table", "share_notification_table", "share_notification_seen_table"}
# The original service's single-column indexes (API.md §6 lists them for reference). Migration
# 0004 drops these five, whose column leads another index (a primary key or 0003's sent list)...
DUPLICATE_ORIGINAL_INDEXES = {
    "ix_user_table_user_id": ("user_table", "user_id"),
    "ix_friendship_table_user_id1": ("friendship_table", "user_id1"),
    "ix_share_notification_table_event_id": ("share_notification_table", "event_id"),
    "ix_share_notification_table_user_id": ("share_notification_table", "user_id"),
    "ix_share_notification_seen_table_event_id": ("share_notification_seen_table", "event_id"),
}
# ...and keeps these two, whose column leads no other full index.
KEPT_ORIGINAL_INDEXES = {"ix_friendship_table_user_id2", "ix_share_notification_seen_table_user_id"}


def head_revision(app) -> str:
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def psycopg2_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def current_revision(url: str) -> str | None:
    with psycopg2.connect(psycopg2_dsn(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT version_num FROM alembic_version")
        row = cur.fetchone()
    return row[0] if row else None


# --- empty database -> head ----------------------------------------------------------------


def only_model_objects_for(conn):
    # Trigram indexes need pg_trgm; on a server that does not offer it migration 0002 skips
    # them, so the comparison must too.
    extension_filter = include_object_for(conn)

    def only_model_objects(obj, name, type_, reflected, compare_to):
        if type_ == "table" and name == "alembic_version":
            return False
        # Indexes only in the database (none today) would be free per API.md; indexes the
        # models declare are compared, and test_head_schema_is_the_contract checks the
        # original ix_* ones by name (kept ones present, 0004's dropped ones absent).
        if type_ == "index" and reflected and compare_to is None:
            return False
        return extension_filter(obj, name, type_, reflected, compare_to)

    return only_model_objects


def test_upgrade_of_an_empty_database_matches_the_models(scratch_app, scratch_url):
    with scratch_app.app_context():
        upgrade()
        assert current_revision(scratch_url) == head_revision(scratch_app)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": only_model_objects_for(conn),
            })
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def _columns(inspector, table):
    return {c["name"]: c for c in inspector.get_columns(table)}


USER_COLUMNS = {
    # name: (type, nullable, default)
    "user_id": ("character varying", False, None),
    "email": ("character varying", False, None),
    "email_public": ("boolean", False, "false"),
    "first_name": ("character varying", False, None),
    "last_name": ("character varying", False, None),
    "dob": ("date", True, None),
    "dob_public": ("boolean", False, "false"),
    "created_at": ("timestamp without time zone", False, "timezone('utc'::text, now())"),
    "share_mode": ("character varying", False, "'default_none'::character varying"),
    "domain_allow_array": ("character varying[]", False, "'{}'::character varying[]"),
    "domain_deny_array": ("character varying[]", False, "'{}'::character varying[]"),
    "gender": ("character varying", False, "''::character varying"),
    "school": ("character varying", False, "''::character varying"),
    "work": ("character varying", False, "''::character varying"),
    "location": ("character varying", False, "''::character varying"),
    "gender_public": ("boolean", False, "false"),
    "school_public": ("boolean", False, "false"),
    "work_public": ("boolean", False, "false"),
    "location_public": ("boolean", False, "false"),
    "description": ("character varying", False, "''::character varying"),
    "profile_image_uploaded_at": ("timestamp without time zone", True, None),
    "profile_image_extension": ("character varying", True, None),
}
FRIENDSHIP_COLUMNS = {
    "user_id1": ("character varying", False, None),
    "user_id2": ("character varying", False, None),
    "requested_at": ("timestamp without time zone", False, "timezone('utc'::text, now())"),
    "accepted_at": ("timestamp without time zone", True, None),
}
SHARE_COLUMNS = {
    "event_id": ("uuid", False, "gen_random_uuid()"),
    "user_id": ("character varying", True, None),
    "sent_at": ("timestamp without time zone", False, "timezone('utc'::text, now())"),
    "url": ("character varying", False, None),
    "title": ("character varying", False, None),
    "sent_to": ("character varying", True, None),
}
SEEN_COLUMNS = {
    "event_id": ("uuid", False, None),
    "user_id": ("character varying", False, None),
    "seen_at": ("timestamp without time zone", True, None),
}


def catalog_columns(conn, table):
    # format_type gives the SQL spelling ("character varying[]", "timestamp without time zone").
    rows = conn.exec_driver_sql(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, pg_get_expr(d.adbin, d.adrelid) "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = %(t)s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        {"t": table},
    ).all()
    return {name: (type_, nullable, default) for name, type_, nullable, default in rows}


def test_head_schema_is_the_contract(app, db_conn):
    """The session database (migrated to head) against API.md §6, column by column."""
    for table, expected in (("user_table", USER_COLUMNS), ("friendship_table", FRIENDSHIP_COLUMNS),
                            ("share_notification_table", SHARE_COLUMNS),
                            ("share_notification_seen_table", SEEN_COLUMNS)):
        assert catalog_columns(db_conn, table) == expected, table

    inspector = inspect(db_conn)
    assert TABLES <= set(inspector.get_table_names())
    assert inspector.get_pk_constraint("user_table")["constrained_columns"] == ["user_id"]
    assert inspector.get_pk_constraint("friendship_table")["constrained_columns"] == ["user_id1", "user_id2"]
    assert inspector.get_pk_constraint("share_notification_table")["constrained_columns"] == ["event_id"]
    assert inspector.get_pk_constraint("share_notification_seen_table")["constrained_columns"] == [
        "event_id", "user_id"]
    assert [u["column_names"] for u in inspector.get_unique_constraints("user_table")] == [["email"]]

    def fks(table):
        return sorted((tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                      for fk in inspector.get_foreign_keys(table))

    assert fks("friendship_table") == [(("user_id1",), "user_table", ("user_id",)),
                                       (("user_id2",), "user_table", ("user_id",))]
    assert fks("share_notification_table") == [(("sent_to",), "user_table", ("user_id",)),
                                               (("user_id",), "user_table", ("user_id",))]
    assert fks("share_notification_seen_table") == [
        (("event_id",), "share_notification_table", ("event_id",)), (("user_id",), "user_table", ("user_id",))]

    index_names = {ix["name"] for table in TABLES for ix in inspector.get_indexes(table)}
    assert KEPT_ORIGINAL_INDEXES <= index_names
    assert not set(DUPLICATE_ORIGINAL_INDEXES) & index_names


def test_column_defaults_write_utc_whatever_the_session_time_zone(db_conn):
    db_conn.exec_driver_sql("SET LOCAL TIME ZONE 'America/Los_Angeles'")
    before = utcnow()
    db_conn.exec_driver_sql("INSERT INTO user_table(user_id, email, first_name, last_name) "
                            "VALUES ('tz', 'tz@example.com', 'T', 'Z')")
    after = utcnow()
    created = db_conn.exec_driver_sql("SELECT created_at FROM user_table WHERE user_id = 'tz'").scalar()
    # now() is the transaction start, which may precede `before` by the length of the test so far.
    assert before - dt.timedelta(minutes=5) <= created <= after + dt.timedelta(seconds=1)


# --- the siblings' SQL (API.md §6.1) ----------------------------------------------------


def pg(statement: str) -> str:
    """node-postgres $n placeholders -> psycopg2 named %(pn)s ($1 may appear twice, as in P1)."""
    for n in range(20, 0, -1):
        statement = statement.replace(f"${n}", f"%(p{n})s")
    return statement


P1 = "SELECT * FROM friendship_table WHERE (user_id1 = $1 OR user_id2 = $1) AND accepted_at IS NOT NULL"
P2 = "SELECT user_id1, user_id2 FROM friendship_table WHERE (user_id1 = $1 OR user_id2 = $1) AND accepted_at IS NOT NULL"
P3 = "SELECT user_id, first_name, last_name, profile_image_extension FROM user_table WHERE user_id = ANY ($1)"
P4 = ("SELECT * FROM friendship_table WHERE (user_id1 = $1 AND user_id2 = $2 AND accepted_at IS NOT NULL) "
      "OR (user_id1 = $2 AND user_id2 = $1 AND accepted_at IS NOT NULL)")
T1 = ("INSERT INTO user_table(user_id, email, first_name, last_name, gender, dob, domain_allow_array, "
      "domain_deny_array) VALUES ($1, $2, $3, $4, $5, $6, $7, $8), ($9, $10, $11, $12, $13, $14, $15, $16)")
T2 = "INSERT INTO friendship_table(user_id1, user_id2, accepted_at) VALUES ($1, $2, $3), ($4, $5, $6)"
T3 = ("UPDATE user_table SET profile_image_extension = 'png', profile_image_uploaded_at = $1 "
      "WHERE user_id = $2 OR user_id = $3")
T4 = [
    ("SELECT * FROM user_table", ()),
    ("SELECT * FROM friendship_table", ()),
    ("SELECT user_id FROM user_table", ()),
]
T4_BY_IDS = "SELECT user_id, first_name, last_name FROM user_table WHERE user_id = ANY ($1)"


def populate_through_api(client, auth_headers):
    for uid, first in (("a", "Ann"), ("b", "Bob"), ("c", "Cid"), ("d", "Dee")):
        resp = client.post("/users/me", data=f'{{"first_name": "{first}", "last_name": "X", "dob": "1990-1-2"}}',
                           headers={**auth_headers(uid), "Content-Type": "text/plain"})
        assert resp.status_code == 200, resp.get_json()

    def befriend(requester, addressee, accept=True):
        resp = client.post("/friendship/requests", json={"user_id2": addressee}, headers=auth_headers(requester))
        assert resp.status_code == 200, resp.get_json()
        if accept:
            resp = client.post("/friendship/accept", json={"user_id1": requester}, headers=auth_headers(addressee))
            assert resp.status_code == 200, resp.get_json()

    befriend("a", "b")
    befriend("d", "a")
    befriend("a", "c", accept=False)
    assert client.get("/users/me/profile-image-upload-url?image_ext=png", headers=auth_headers("b")).status_code == 200


def run(cur, statement, params=()):
    cur.execute(pg(statement), {f"p{n}": value for n, value in enumerate(params, start=1)})
    names = [col.name for col in cur.description] if cur.description else []
    return names, (cur.fetchall() if cur.description else cur.rowcount)


def test_sibling_sql_runs_unchanged(client, auth_headers, db_conn):
    populate_through_api(client, auth_headers)
    # The raw DB-API connection of the test's transaction: it sees what the API wrote.
    cur = db_conn.connection.dbapi_connection.cursor()

    names, rows = run(cur, P1, ("a",))
    assert names == ["user_id1", "user_id2", "requested_at", "accepted_at"]
    assert sorted((r[0], r[1]) for r in rows) == [("a", "b"), ("d", "a")]
    names, rows = run(cur, P2, ("a",))
    assert names == ["user_id1", "user_id2"] and sorted(rows) == [("a", "b"), ("d", "a")]
    assert run(cur, P2, ("c",))[1] == []  # pending rows never count

    names, rows = run(cur, P3, (["a", "b", "zz"],))
    assert names == ["user_id", "first_name", "last_name", "profile_image_extension"]
    assert sorted(rows) == [("a", "Ann", "X", None), ("b", "Bob", "X", "png")]

    assert len(run(cur, P4, ("a", "b"))[1]) == 1
    assert len(run(cur, P4, ("b", "a"))[1]) == 1
    assert run(cur, P4, ("a", "c"))[1] == []

    assert run(cur, T1, ("t1", "t1@example.com", "Tee", "One", "f", dt.date(1990, 1, 2), ["x.com", "y.com"], [],
                         "t2", "t2@example.com", "Tee", "Two", "", None, [], ["z.com"]))[1] == 2
    assert run(cur, T2, ("t1", "t2", utcnow(), "t1", "a", None))[1] == 2
    stamp = dt.datetime(2024, 3, 4, 5, 6, 7)
    assert run(cur, T3, (stamp, "t1", "t2"))[1] == 2

    for statement, params in T4:
        names, rows = run(cur, statement, params)
        assert rows and names
    names, rows = run(cur, "SELECT * FROM user_table", ())
    assert set(USER_COLUMNS) == set(names) and len(rows) == 6
    assert sorted(run(cur, T4_BY_IDS, (["t1", "a"],))[1]) == [("a", "Ann", "X"), ("t1", "Tee", "One")]
    assert sorted((r[0], r[1]) for r in run(cur, P1, ("t1",))[1]) == [("t1", "t2")]
    cur.close()

    # Rows seeded by the siblings' utilities are first-class users for the API (defaults hold).
    me = client.get("/users/me", headers=auth_headers("t1"))
    assert me.status_code == 200, me.get_json()
    body = me.get_json()
    assert (body["share_mode"], body["description"], body["school"], body["email_public"]) == (
        "default_none", "", "", False)
    assert body["domain_allow_array"] == ["x.com", "y.com"] and body["dob"] == "1990-01-02"
    assert body["profile_image_extension"] == "png" and body["profile_image_uploaded_at"] == "2024-03-04T05:06:07"
    assert client.get("/users/id/t1/friends/count", headers=auth_headers("a")).get_json()["count_1"] == 1
    created = db_conn.exec_driver_sql("SELECT created_at, requested_at FROM user_table u JOIN friendship_table f "
                                      "ON f.user_id1 = u.user_id WHERE u.user_id = 't1' AND f.user_id2 = 't2'").one()
    assert created[0] is not None and created[1] is not None


# --- adopting the original service's database -------------------------------------------

ORIGINAL_DDL = """
CREATE TABLE user_table (
    user_id VARCHAR NOT NULL,
    email VARCHAR NOT NULL,
    email_public BOOLEAN DEFAULT false NOT NULL,
    first_name VARCHAR NOT NULL,
    last_name VARCHAR NOT NULL,
    dob DATE,
    dob_public BOOLEAN DEFAULT false NOT NULL,
    created_at TIMESTAMP WITHOUT TIME ZONE DEFAULT timezone('utc', now()) NOT NULL,
    share_mode VARCHAR DEFAULT 'default_none' NOT NULL,
    domain_allow_array VARCHAR[] DEFAULT '{}' NOT NULL,
    domain_deny_array VARCHAR[] DEFAULT '{}' NOT NULL,
    gender VARCHAR DEFAULT '' NOT NULL,
    school VARCHAR DEFAULT '' NOT NULL,
    work VARCHAR DEFAULT '' NOT NULL,
    location VARCHAR DEFAULT '' NOT NULL,
    gender_public BOOLEAN DEFAULT false NOT NULL,
    school_public BOOLEAN DEFAULT false NOT NULL,
    work_public BOOLEAN DEFAULT false NOT NULL,
    location_public BOOLEAN DEFAULT false NOT NULL,
    description VARCHAR DEFAULT '' NOT NULL,
    profile_image_uploaded_at TIMESTAMP WITHOUT TIME ZONE,
    profile_image_extension VARCHAR,
    PRIMARY KEY (user_id),
    UNIQUE (email)
);
CREATE INDEX ix_user_table_user_id ON user_table (user_id);
CREATE TABLE friendship_table (
    user_id1 VARCHAR NOT NULL REFERENCES user_table (user_id),
    user_id2 VARCHAR NOT NULL REFERENCES user_table (user_id),
    requested_at TIMESTAMP WITHOUT TIME ZONE DEFAULT timezone('utc', now()) NOT NULL,
    accepted_at TIMESTAMP WITHOUT TIME ZONE,
    PRIMARY KEY (user_id1, user_id2)
);
CREATE INDEX ix_friendship_table_user_id1 ON friendship_table (user_id1);
CREATE INDEX ix_friendship_table_user_id2 ON friendship_table (user_id2);
CREATE TABLE share_notification_table (
    event_id UUID DEFAULT {uuid_default} NOT NULL,
    user_id VARCHAR REFERENCES user_table (user_id),
    sent_at TIMESTAMP WITHOUT TIME ZONE DEFAULT timezone('utc', now()) NOT NULL,
    url VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    sent_to VARCHAR REFERENCES user_table (user_id),
    PRIMARY KEY (event_id)
);
CREATE INDEX ix_share_notification_table_event_id ON share_notification_table (event_id);
CREATE INDEX ix_share_notification_table_user_id ON share_notification_table (user_id);
CREATE TABLE share_notification_seen_table (
    event_id UUID NOT NULL REFERENCES share_notification_table (event_id),
    user_id VARCHAR NOT NULL REFERENCES user_table (user_id),
    seen_at TIMESTAMP WITHOUT TIME ZONE,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX ix_share_notification_seen_table_event_id ON share_notification_seen_table (event_id);
CREATE INDEX ix_share_notification_seen_table_user_id ON share_notification_seen_table (user_id);

INSERT INTO user_table (user_id, email, first_name, last_name, domain_allow_array)
VALUES ('old1', 'old1@example.com', 'Old', 'One', '{a.com,b.com}'),
       ('old2', 'old2@example.com', 'Old', 'Two', '{}');
INSERT INTO friendship_table (user_id1, user_id2, accepted_at) VALUES ('old1', 'old2', now());
INSERT INTO share_notification_table (user_id, url, title) VALUES ('old1', 'https://example.com', 'Example');
INSERT INTO share_notification_seen_table (event_id, user_id) SELECT event_id, 'old2' FROM share_notification_table;
"""


def create_original_schema(url: str) -> None:
    with psycopg2.connect(psycopg2_dsn(url)) as conn, conn.cursor() as cur:
        # The original used uuid-ossp; embedded servers without contrib fall back to the built-in.
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'uuid-ossp'")
        if cur.fetchone():
            cur.execute('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"')
            uuid_default = "uuid_generate_v4()"
        else:
            uuid_default = "gen_random_uuid()"
        cur.execute(ORIGINAL_DDL.replace("{uuid_default}", uuid_default))


def flask_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "FLASK_APP": "wsgi:app",
        "DATABASE_URL": url,
        "COGNITO_REGION": REGION,
        "COGNITO_POOL_ID": POOL_ID,
        "COGNITO_APP_CLIENT_ID": CLIENT_ID,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_READ_URL", None)
    proc = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def snapshot(url: str) -> dict:
    with psycopg2.connect(psycopg2_dsn(url)) as conn, conn.cursor() as cur:
        out = {}
        for table, order in (("user_table", "user_id"), ("friendship_table", "user_id1"),
                             ("share_notification_table", "event_id"),
                             ("share_notification_seen_table", "event_id")):
            cur.execute(f"SELECT * FROM {table} ORDER BY {order}")
            out[table] = cur.fetchall()
    return out


def test_existing_database_is_adopted_with_stamp_then_upgrade(scratch_url, scratch_app, jwks_path):
    create_original_schema(scratch_url)
    before = snapshot(scratch_url)
    assert before["user_table"] and before["share_notification_seen_table"]

    flask_cli(scratch_url, "db", "stamp", "0001_initial")
    assert current_revision(scratch_url) == "0001_initial"
    flask_cli(scratch_url, "db", "upgrade")
    assert current_revision(scratch_url) == head_revision(scratch_app)
    assert snapshot(scratch_url) == before

    indexes = index_names_of(scratch_url)
    assert "uq_friendship_table_pair" in indexes  # later revisions applied
    assert KEPT_ORIGINAL_INDEXES <= indexes
    assert not set(DUPLICATE_ORIGINAL_INDEXES) & indexes

    # The adopted database serves the API.
    client = scratch_app.test_client()
    resp = client.get("/users/id/old1")
    assert resp.status_code == 200
    assert resp.get_json()["first_name"] == "Old"
    assert [u["user_id"] for u in client.get("/users/ids/old2,old1").get_json()] == ["old2", "old1"]
    # A second upgrade is a no-op.
    flask_cli(scratch_url, "db", "upgrade")
    assert snapshot(scratch_url) == before


def index_names_of(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {ix["name"] for table in TABLES for ix in inspector.get_indexes(table)}
    finally:
        engine.dispose()


def test_adopted_database_lacking_some_original_indexes_upgrades(scratch_url, scratch_app):
    # 0004 drops with IF EXISTS: a production database may never have had some of them.
    create_original_schema(scratch_url)
    with psycopg2.connect(psycopg2_dsn(scratch_url)) as conn, conn.cursor() as cur:
        cur.execute("DROP INDEX ix_user_table_user_id; DROP INDEX ix_share_notification_seen_table_event_id")
    before = snapshot(scratch_url)
    with scratch_app.app_context():
        stamp(revision="0001_initial")
        upgrade()
    assert current_revision(scratch_url) == head_revision(scratch_app)
    assert snapshot(scratch_url) == before
    indexes = index_names_of(scratch_url)
    assert KEPT_ORIGINAL_INDEXES <= indexes
    assert not set(DUPLICATE_ORIGINAL_INDEXES) & indexes


def test_downgrade_to_base_and_back(scratch_app, scratch_url):
    with scratch_app.app_context():
        upgrade()
        downgrade(revision="base")
        engine = create_engine(scratch_url)
        try:
            assert TABLES.isdisjoint(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert current_revision(scratch_url) is None
        upgrade()
    assert current_revision(scratch_url) == head_revision(scratch_app)


# --- 0004: the duplicate original indexes ----------------------------------------------


def test_0004_drops_the_duplicates_and_its_downgrade_recreates_them_as_0001_did(db_conn):
    revision = load_revision("0004_drop_duplicate_indexes.py")
    assert (revision.revision, revision.down_revision) == ("0004_drop_duplicate_indexes",
                                                           "0003_share_notification_indexes")

    def definitions():
        rows = db_conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename IN %(tables)s", {"tables": tuple(TABLES)}).all()
        return dict(rows)

    schema = db_conn.exec_driver_sql("SELECT current_schema()").scalar()
    # What 0001 (and the original service) created: plain, non-unique, single-column btrees.
    as_in_0001 = {name: f"CREATE INDEX {name} ON {schema}.{table} USING btree ({column})"
                  for name, (table, column) in DUPLICATE_ORIGINAL_INDEXES.items()}

    at_head = definitions()
    assert KEPT_ORIGINAL_INDEXES <= set(at_head)
    assert not set(DUPLICATE_ORIGINAL_INDEXES) & set(at_head)

    # The revision's own functions, run on the test's connection: the outer rollback undoes them.
    with Operations.context(MigrationContext.configure(db_conn)):
        revision.downgrade()
        downgraded = definitions()
        assert {name: downgraded.get(name) for name in as_in_0001} == as_in_0001
        assert {k: v for k, v in downgraded.items() if k not in as_in_0001} == at_head  # nothing else changed
        revision.upgrade()
        assert definitions() == at_head
        revision.upgrade()  # IF EXISTS: a second run (or an adopted database lacking them) is fine
    assert definitions() == at_head


def test_revisions_import_no_other_revision_and_read_their_sql_from_files():
    """A released revision never changes: none builds on another's module, and the SQL
    bodies they execute are plain files under migrations/versions/sql."""
    import ast
    from pathlib import Path

    versions = Path(__file__).resolve().parents[1] / "migrations" / "versions"
    allowed = {"__future__", "alembic", "sqlalchemy", "pathlib", "logging"}
    for path in sorted(versions.glob("*.py")):
        tree = ast.parse(path.read_text())
        roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
        roots |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert roots <= allowed, (path.name, sorted(roots - allowed))
        assert ".format(" not in path.read_text(), path.name
    named = {part for path in versions.glob("*.py") for part in path.read_text().split('"')
             if part.endswith(".sql")}
    assert named == {p.name for p in (versions / "sql").glob("*.sql")}
