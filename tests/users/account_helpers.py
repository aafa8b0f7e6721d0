"""Helpers for the account deletion and export tests: calls as a given user, a small social
graph built through the API, and per-table row counts."""
from __future__ import annotations

from hardening.fast_tokens import FastSigner

TABLES = ("user_table", "friendship_table", "share_notification_table", "share_notification_seen_table")


class Caller:
    """The committed app's test client, each call signed as the named user."""

    def __init__(self, app, signing_key):
        self.app = app
        self.signer = FastSigner(signing_key)

    def __call__(self, method: str, path: str, user: str | None = None, **kwargs):
        headers = {**(self.signer.headers(user) if user else {}), **kwargs.pop("headers", {})}
        return self.app.test_client().open(path, method=method, headers=headers, **kwargs)

    def ok(self, method: str, path: str, user: str | None = None, status: int = 200, **kwargs):
        response = self(method, path, user, **kwargs)
        assert response.status_code == status, (method, path, user, response.status_code, response.get_data(as_text=True))
        return response.get_json() if response.status_code != 204 else None

    def register(self, user: str, first_name: str, last_name: str = "Test") -> None:
        self.ok("POST", "/users/me", user, json={"first_name": first_name, "last_name": last_name})

    def befriend(self, requester: str, addressee: str, accept: bool = True) -> None:
        self.ok("POST", "/friendship/requests", requester, json={"user_id2": addressee})
        if accept:
            self.ok("POST", "/friendship/accept", addressee, json={"user_id1": requester})

    def broadcast(self, sender: str, url: str) -> str:
        return self.ok("POST", "/notifications/share", sender, json={"url": url, "title": url.rsplit("/", 1)[-1]})

    def personal(self, sender: str, sent_to: str, url: str) -> str:
        return self.ok("POST", "/notifications/share/personal", sender,
                       json={"sent_to": sent_to, "url": url, "title": url.rsplit("/", 1)[-1]})

    def read(self, user: str, *event_ids: str) -> None:
        self.ok("POST", "/notifications/share/read", user, json=[{"event_id": e} for e in event_ids])


def build_world(api: Caller) -> dict[str, str]:
    """ann (the one who leaves) with friends both ways, pending requests both ways, shares both
    ways, read and unread; and bob, cat, fay linked among themselves without her."""
    for user, name in (("ann", "Ann"), ("bob", "Bob"), ("cat", "Cat"), ("dan", "Dan"), ("eve", "Eve"),
                       ("fay", "Fay")):
        api.register(user, name, "Leaver" if user == "ann" else "Stayer")
    api.befriend("ann", "bob")
    api.befriend("cat", "ann")
    api.befriend("ann", "dan", accept=False)
    api.befriend("eve", "ann", accept=False)
    api.befriend("bob", "cat")
    api.befriend("bob", "fay")
    events = {
        "a1": api.broadcast("ann", "https://example.com/a1"),      # to bob, cat
        "a2": api.personal("ann", "bob", "https://example.com/a2"),
        "b1": api.broadcast("bob", "https://example.com/b1"),      # to ann, cat, fay
        "c1": api.personal("cat", "ann", "https://example.com/c1"),
        "b2": api.personal("bob", "cat", "https://example.com/b2"),
    }
    api.read("bob", events["a1"])
    api.read("ann", events["c1"])
    return events


def counts(sql) -> dict[str, int]:
    return {table: sql(f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


def rows_naming(sql, user_id: str) -> dict[str, int]:
    """Rows in each shared table that name user_id in any user column."""
    return {
        "user_table": sql("SELECT count(*) FROM user_table WHERE user_id = :u", u=user_id)[0][0],
        "friendship_table": sql("SELECT count(*) FROM friendship_table WHERE :u IN (user_id1, user_id2)",
                                u=user_id)[0][0],
        "share_notification_table": sql("SELECT count(*) FROM share_notification_table WHERE :u IN (user_id, sent_to)",
                                        u=user_id)[0][0],
        "share_notification_seen_table": sql(
            "SELECT count(*) FROM share_notification_seen_table s LEFT JOIN share_notification_table n "
            "USING (event_id) WHERE s.user_id = :u OR n.user_id = :u OR n.sent_to = :u", u=user_id)[0][0],
    }


NOTHING = dict.fromkeys(TABLES, 0)
