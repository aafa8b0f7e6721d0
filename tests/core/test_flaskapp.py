"""PageNowFlask: ensure_sync answers from a cache, and still hands coroutines to async_to_sync."""
from __future__ import annotations

import gc

import pytest

from service import flaskapp
from service.flaskapp import PageNowFlask


@pytest.fixture()
def flask_app():
    return PageNowFlask(__name__)


def test_plain_functions_come_back_unchanged_and_are_asked_once(flask_app, monkeypatch):
    asked = []
    real = flaskapp.iscoroutinefunction
    monkeypatch.setattr(flaskapp, "iscoroutinefunction", lambda f: asked.append(f) or real(f))

    def hook():
        return "x"

    for _ in range(3):
        assert flask_app.ensure_sync(hook) is hook
    assert asked == [hook]


def test_bound_methods_are_kept_by_their_function(flask_app, monkeypatch):
    class View:
        def get(self):
            return "x"

    asked = []
    real = flaskapp.iscoroutinefunction
    monkeypatch.setattr(flaskapp, "iscoroutinefunction", lambda f: asked.append(f) or real(f))
    methods = [View().get for _ in range(5)]  # a MethodView binds a new one per request
    for method in methods:
        assert flask_app.ensure_sync(method) is method
    assert len(asked) == 1 and list(flask_app._sync_answers) == [View.get]


def test_coroutine_functions_still_go_through_async_to_sync(flask_app, monkeypatch):
    async def view():
        return "x"

    class Handler:
        async def get(self):
            return "x"

    wrapped = []
    monkeypatch.setattr(flask_app, "async_to_sync", lambda f: wrapped.append(f) or "wrapped")
    bound = Handler().get
    for _ in range(2):
        assert flask_app.ensure_sync(view) == "wrapped"
        assert flask_app.ensure_sync(bound) == "wrapped"
    assert wrapped == [view, bound, view, bound]


def test_unhashable_callables_are_asked_every_time(flask_app):
    class Unhashable:
        __hash__ = None

        def __call__(self):
            return "x"

    func = Unhashable()
    assert flask_app.ensure_sync(func) is func
    assert len(flask_app._sync_answers) == 0


def test_the_cache_stops_growing_at_its_cap(flask_app, monkeypatch):
    monkeypatch.setattr(flaskapp, "ENSURE_SYNC_CACHE_MAX", 3)
    funcs = [(lambda: None) for _ in range(10)]  # ten distinct function objects
    for func in funcs:
        assert flask_app.ensure_sync(func) is func
    assert len(flask_app._sync_answers) == 3


def test_the_factory_builds_one_and_its_requests_are_answered_from_the_cache(client):
    application = client.application
    assert isinstance(application, PageNowFlask)
    assert client.get("/ping").status_code == 200
    answers = dict(application._sync_answers)
    assert answers and all(answers.values())  # every hook and view of this app is plain def
    assert client.get("/ping").status_code == 200
    assert dict(application._sync_answers) == answers  # a second request asks about nothing new


def test_a_callable_made_for_one_request_is_not_kept_alive(flask_app):
    def per_request_callback(response):  # what after_this_request would register
        return response

    assert flask_app.ensure_sync(per_request_callback) is per_request_callback
    assert len(flask_app._sync_answers) == 1
    del per_request_callback
    gc.collect()
    assert len(flask_app._sync_answers) == 0


def test_only_bound_methods_are_kept_by_their_function(flask_app):
    async def coroutine():
        return "x"

    flask_app._sync_answers[coroutine] = False  # the coroutine function's own answer, cached
    wrapper = staticmethod(coroutine)  # has a __func__ too, but Flask's own test calls it sync
    assert flask_app.ensure_sync(wrapper) is wrapper
