"""POST /notifications/share/read: only the caller's own rows; the first seen_at is kept
(API.md §4.7, §5.2)."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from factories import make_user
from service.timeutil import utcnow

URL = "/notifications/share/read"
T0 = dt.datetime(2024, 5, 1, 12, 0, 0)
FIRST_SEEN = dt.datetime(2024, 5, 1, 13, 0, 0)


@pytest.fixture()
def events(insert_share):
    for uid in ("s", "r", "other"):
        make_user(uid)
    return {
        "both": insert_share("s", ["r", "other"], sent_at=T0),
        "mine": insert_share("s", ["r"], sent_at=T0),
        "seen": insert_share("s", ["r"], sent_at=T0, seen={"r": FIRST_SEEN}),
        "theirs": insert_share("s", ["other"], sent_at=T0),
    }


@pytest.fixture()
def seen_state(sql):
    def state() -> dict:
        rows = sql("SELECT event_id, user_id, seen_at FROM share_notification_seen_table").all()
        return {(r.event_id, r.user_id): r.seen_at for r in rows}

    return state


def items(*event_ids):
    return [{"event_id": str(e)} for e in event_ids]


def test_marks_the_callers_unseen_rows(client, auth_headers, events, seen_state):
    before_state = seen_state()
    before = utcnow()
    resp = client.post(URL, json=items(events["both"], events["mine"]), headers=auth_headers("r"))
    after = utcnow()

    assert resp.status_code == 200
    assert resp.get_json() == {"success": True}
    state = seen_state()
    for key in ((events["both"], "r"), (events["mine"], "r")):
        assert before <= state[key] <= after
    # The other recipient of the same broadcast is untouched, as is everything else.
    changed = {k for k in state if state[k] != before_state[k]}
    assert changed == {(events["both"], "r"), (events["mine"], "r")}


def test_first_seen_at_is_kept(client, auth_headers, events, seen_state):
    assert client.post(URL, json=items(events["seen"]), headers=auth_headers("r")).status_code == 200
    assert seen_state()[(events["seen"], "r")] == FIRST_SEEN

    before = utcnow()
    assert client.post(URL, json=items(events["mine"]), headers=auth_headers("r")).status_code == 200
    first = seen_state()[(events["mine"], "r")]
    between = utcnow()
    assert before <= first < between
    # Marked again later: a second write would store a time after `between`.
    assert client.post(URL, json=items(events["mine"]), headers=auth_headers("r")).status_code == 200
    assert seen_state()[(events["mine"], "r")] == first


def test_someone_elses_event_changes_nothing(client, auth_headers, events, seen_state):
    before = seen_state()
    unknown = uuid.uuid4()
    resp = client.post(URL, json=items(events["theirs"], unknown), headers=auth_headers("r"))
    assert resp.status_code == 200
    assert seen_state() == before
    # Nor can a sender mark its recipients' rows.
    assert client.post(URL, json=items(events["both"]), headers=auth_headers("s")).status_code == 200
    assert seen_state() == before


def test_empty_array_and_unregistered_caller_are_fine(client, auth_headers, events, seen_state):
    before = seen_state()
    assert client.post(URL, json=[], headers=auth_headers("r")).get_json() == {"success": True}
    assert client.post(URL, json=items(events["mine"]), headers=auth_headers("ghost")).status_code == 200
    assert seen_state() == before


def test_duplicates_extra_keys_and_500_items_are_accepted(client, auth_headers, events, seen_state):
    payload = [{"event_id": str(events["mine"]), "user_id": "other", "seen": True}] * 250
    payload += items(*(uuid.uuid4() for _ in range(250)))
    resp = client.post(URL, json=payload, headers={**auth_headers("r"), "Content-Type": "text/plain"})
    assert resp.status_code == 200
    assert seen_state()[(events["mine"], "r")] is not None


@pytest.mark.parametrize("payload", [
    {"event_id": "00000000-0000-4000-8000-000000000000"},
    "00000000-0000-4000-8000-000000000000",
    None,
    ["00000000-0000-4000-8000-000000000000"],
    [{"event_id": "not-a-uuid"}],
    [{"event_id": 123}],
    [{"event_id": None}],
    [{}],
    [[]],
])
def test_invalid_body_is_400_and_changes_nothing(client, auth_headers, events, seen_state, payload):
    before = seen_state()
    # A valid item rides along to show that nothing of a bad batch is applied.
    if isinstance(payload, list):
        payload = items(events["mine"]) + payload
    resp = client.post(URL, json=payload, headers=auth_headers("r"))
    assert resp.status_code == 400
    assert isinstance(resp.get_json()["message"], str)
    assert seen_state() == before


@pytest.mark.parametrize("raw", ["", "[", "[{'event_id': 'x'}]"])
def test_malformed_json_is_400(client, auth_headers, events, seen_state, raw):
    before = seen_state()
    resp = client.post(URL, data=raw, headers={**auth_headers("r"), "Content-Type": "application/json"})
    assert resp.status_code == 400
    assert seen_state() == before


def test_more_than_500_items_is_400(client, auth_headers, events, seen_state):
    before = seen_state()
    payload = items(events["mine"], *(uuid.uuid4() for _ in range(500)))
    resp = client.post(URL, json=payload, headers=auth_headers("r"))
    assert resp.status_code == 400
    assert seen_state() == before


def test_one_update_statement(client, auth_headers, events, statements):
    payload = items(events["both"], events["mine"], events["theirs"], *(uuid.uuid4() for _ in range(50)))
    assert client.post(URL, json=payload, headers=auth_headers("r")).status_code == 200
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("UPDATE")


def test_read_rows_leave_the_unread_list(client, auth_headers, events):
    unread = client.get("/notifications/share?is_read=false", headers=auth_headers("r")).get_json()
    assert {item["event_id"] for item in unread} == {str(events["both"]), str(events["mine"])}
    client.post(URL, json=[{"event_id": item["event_id"]} for item in unread], headers=auth_headers("r"))
    assert client.get("/notifications/share?is_read=false", headers=auth_headers("r")).get_json() == []
    assert len(client.get("/notifications/share?is_read=true", headers=auth_headers("r")).get_json()) == 3
