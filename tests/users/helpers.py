"""Shared expectations for the user-profile tests (API.md §3, §5.5)."""
from __future__ import annotations

import re

from service.users.defaults import DEFAULT_ALLOW_DOMAINS, DEFAULT_DENY_DOMAINS

# Timestamps are naive UTC without offset: no "+00:00", no "Z" from the server.
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

PRIVATE_STRINGS = ("user_id", "email", "first_name", "last_name", "description", "gender", "school", "work",
                   "location", "share_mode")
PRIVATE_BOOLS = ("email_public", "dob_public", "gender_public", "school_public", "work_public", "location_public")
PUBLIC_FIELDS = {"user_id", "first_name", "last_name", "description", "profile_image_extension",
                 "profile_image_uploaded_at", "dob", "gender", "school", "work", "location",
                 "friendship_state", "mutual_friend_count"}

ALLOW_119 = [
    "wikipedia.org", "nytimes.com", "forbes.com", "cnn.com", "cnbc.com", "medium.com", "washingtonpost.com",
    "brunch.co.kr", "stackoverflow.com", "stackexchange.com", "techcrunch.com", "crunchbase.com", "nbcnews.com",
    "huffpost.com", "buzzfeednews.com", "foxnews.com", "espn.com", "cbs.com", "cbsnews.com", "npr.org",
    "tistory.com", "cnet.com", "noninertialframe.com", "reuters.com", "apnews.com", "politico.com", "kaggle.com",
    "udemy.com", "udacity.com", "coursera.org", "github.com", "gitlab.com", "bloomberg.com", "fool.com",
    "python.org", "geeksforgeeks.org", "leetcode.com", "towardsdatascience.com", "nfl.com", "wsj.com",
    "usnews.com", "tmz.com", "businessinsider.com", "latimes.com", "techmeme.com", "engadget.com",
    "theverge.com", "ycombinator.com", "gizmodo.com", "producthunt.com", "venturebeat.com", "wired.com",
    "technologyreview.com", "androidcentral.com", "androidauthority.com", "vox.com", "fortune.com", "arxiv.org",
    "openai.com", "researchgate.net", "machinelearningmastery.com", "aitrends.com",
    "artificial-intelligence.blog", "mit.edu", "caltech.edu", "sciencedaily.com", "research.google",
    "kdnuggets.com", "serverless.com", "namu.wiki", "github.io", "angular.io", "mozilla.org", "w3schools.com",
    "nih.gov", "science.gov", "elsevier.com", "academia.edu", "scienceopen.com", "goodreads.com", "hbr.org",
    "css-tricks.com", "freecodecamp.org", "inc.com", "mashable.com", "paulgraham.com", "quora.com",
    "entrepreneur.com", "ted.com", "economist.com", "dzone.com", "hackernoon.com", "devdocs.io", "diff.blog",
    "digitalocean.com", "slashdot.org", "serverfault.com", "askubuntu.com", "betterprogramming.pub",
    "stackshare.io", "dev.to", "xkcd.com", "hackerrank.com", "okky.kr", "edx.org", "pluralsight.com",
    "tensorflow.org", "pytorch.org", "scikit-learn.org", "deeplearning.ai", "topcoder.com",
    "artofproblemsolving.com", "redhat.com", "glassdoor.com", "heroku.com", "devpost.com", "pagenow.io",
    "testdriven.io", "plainenglish.io",
]
DENY_6 = ["facebook.com", "instagram.com", "amazon.com", "twitter.com", "messenger.com", "google.com"]

# The list above is typed from API.md independently of service/users/defaults.py.
assert len(ALLOW_119) == 119
assert list(DEFAULT_ALLOW_DOMAINS) == ALLOW_119 and list(DEFAULT_DENY_DOMAINS) == DENY_6


def assert_private_shape(body: dict) -> None:
    for name in PRIVATE_STRINGS:
        assert isinstance(body[name], str), name
    for name in PRIVATE_BOOLS:
        assert isinstance(body[name], bool), name
    for name in ("domain_allow_array", "domain_deny_array"):
        assert isinstance(body[name], list) and all(isinstance(d, str) for d in body[name]), name
    assert body["dob"] is None or DATE_RE.match(body["dob"])
    assert body["profile_image_extension"] is None or isinstance(body["profile_image_extension"], str)
    assert body["profile_image_uploaded_at"] is None or TIMESTAMP_RE.match(body["profile_image_uploaded_at"])
    assert body["friendship_state"] is None and body["mutual_friend_count"] is None


def assert_public_shape(body: dict) -> None:
    assert PUBLIC_FIELDS <= set(body)
    assert "email" not in body
    assert not any(key.endswith("_public") for key in body)
    for name in ("user_id", "first_name", "last_name", "description"):
        assert isinstance(body[name], str), name
    for name in ("gender", "school", "work", "location"):
        assert body[name] is None or isinstance(body[name], str), name
    assert body["dob"] is None or DATE_RE.match(body["dob"])
    assert body["profile_image_uploaded_at"] is None or TIMESTAMP_RE.match(body["profile_image_uploaded_at"])
    assert body["friendship_state"] is None and body["mutual_friend_count"] is None


def assert_error(resp, status: int) -> None:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.get_json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]


def user_row(sql, user_id: str):
    row = sql("SELECT * FROM user_table WHERE user_id = :u", u=user_id).mappings().one_or_none()
    return dict(row) if row is not None else None


def update_body(**overrides) -> dict:
    """A valid UserUpdate body (every field is required)."""
    body = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "description": "Rear admiral",
        "share_mode": "default_all",
        "domain_allow_array": ["b.com", "a.com", "b.com"],
        "domain_deny_array": ["z.com"],
        "gender": "female",
        "school": "Yale",
        "work": "US Navy",
        "location": "Arlington",
        "email_public": True,
        "gender_public": True,
        "school_public": False,
        "work_public": True,
        "location_public": False,
    }
    body.update(overrides)
    return body
