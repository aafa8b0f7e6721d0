"""The database role the service connects as: it reads and writes rows, it changes no schema.

Run by the deploy as the role that owns the schema, after `flask db upgrade` (so the grants
cover what the migrations just created):

    DATABASE_URL=<owner's URL> APP_DB_SECRET_ID=<secret> python -m service.dbroles
    DATABASE_URL=<owner's URL> APP_DB_USER=... APP_DB_PASSWORD=... python -m service.dbroles

Creates the login role (or sets its password: a rotated secret takes effect at the next
deploy) and grants exactly the privileges below. The owner keeps CREATE, ALTER, DROP and
TRUNCATE; migrations run as the owner.
"""
from __future__ import annotations

import os
import sys

import psycopg2
from psycopg2 import sql

from service.config import ConfigError, database_credentials_from_secret

# Table -> privileges of the service. A table the service uses but that is missing here fails
# in production with "permission denied": tests/infra/test_db_roles.py compares this list with
# the models, so a migration adding a table adds it here too.
TABLE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    # The four tables shared with the presence and chat services.
    "user_table": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "friendship_table": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "share_notification_table": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "share_notification_seen_table": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    # Read by user search (pagenow_search_users); recounted by the deploy, as the owner.
    "user_search_trigram": ("SELECT",),
    # Read by user search; written only by migration 0012's triggers, which run as the owner.
    "user_search_friend": ("SELECT",),
    # This service's record of image objects a deleted account left (service/accounts).
    "profile_image_deletion": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    # This service's Idempotency-Keys of share requests (migration 0010); the service also
    # deletes expired ones.
    "share_idempotency_key": ("SELECT", "INSERT", "UPDATE", "DELETE"),
}
# This service's functions (migrations 0005 and 0006); called by the search queries.
FUNCTIONS = ("pagenow_search_users", "pagenow_search_pattern")


def ensure_app_role(dsn: str, role: str, password: str) -> None:
    """Create or update `role` and grant it TABLE_PRIVILEGES and FUNCTIONS, nothing more."""
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            ident = sql.Identifier(role)
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            # A new role has no attribute but LOGIN (no superuser, createdb, createrole,
            # replication); an existing one only gets its password set again.
            verb = sql.SQL("ALTER ROLE") if cur.fetchone() else sql.SQL("CREATE ROLE")
            cur.execute(sql.SQL("{} {} WITH LOGIN PASSWORD %s").format(verb, ident), (password,))
            cur.execute("SELECT current_database()")
            cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(cur.fetchone()[0]), ident))
            cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
            for table, privileges in TABLE_PRIVILEGES.items():
                cur.execute(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(sql.Identifier(table), ident))
                cur.execute(
                    sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                        sql.SQL(", ").join(sql.SQL(p) for p in privileges), sql.Identifier(table), ident
                    )
                )
            cur.execute(
                "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE n.nspname = 'public' AND p.proname = ANY(%s)",
                (list(FUNCTIONS),),
            )
            for (signature,) in cur.fetchall():
                cur.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(signature), ident))
    finally:
        conn.close()


def main(env: dict | None = None) -> int:
    env = dict(os.environ if env is None else env)
    dsn = env.get("DATABASE_URL", "").strip()
    if not dsn:
        print("dbroles: DATABASE_URL (the schema owner's) is required", file=sys.stderr)
        return 2
    try:
        secret_id = env.get("APP_DB_SECRET_ID", "").strip()
        if secret_id:
            region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip() or None
            role, password = database_credentials_from_secret(secret_id, region)
        else:
            role, password = env["APP_DB_USER"], env["APP_DB_PASSWORD"]
    except (ConfigError, KeyError) as exc:
        print(f"dbroles: no credentials for the service's role ({exc})", file=sys.stderr)
        return 2
    ensure_app_role(dsn, role, password)
    print(f"dbroles: role {role} may read and write {', '.join(TABLE_PRIVILEGES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
