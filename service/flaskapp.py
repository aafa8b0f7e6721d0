"""The Flask class the factory builds: Flask, minus a per-request cost that buys nothing here."""
from __future__ import annotations

import weakref
from inspect import iscoroutinefunction
from types import MethodType

from flask import Flask

# Functions whose answer is kept. Hooks, views and view methods are a few dozen; the cap
# only matters if something registers a new callable on every request (after_this_request).
ENSURE_SYNC_CACHE_MAX = 1024


class PageNowFlask(Flask):
    """Flask asks `inspect.iscoroutinefunction` about every hook, view and view method on
    every request: twelve times for a ping, about a tenth of its CPU. A function's answer
    never changes, so it is kept per function (a bound method by its function: a MethodView
    binds a new one on every request). Coroutine functions still go through async_to_sync.
    The keys are weak: a callable made for one request (and what it captured) is not kept
    alive by the cache."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_answers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def ensure_sync(self, func):
        key = func.__func__ if type(func) is MethodType else func
        try:
            is_sync = self._sync_answers[key]
        except KeyError:
            is_sync = not iscoroutinefunction(func)
            if len(self._sync_answers) < ENSURE_SYNC_CACHE_MAX:
                self._sync_answers[key] = is_sync
        except TypeError:  # unhashable, or no weak reference possible: ask every time, as Flask does
            is_sync = not iscoroutinefunction(func)
        return func if is_sync else self.async_to_sync(func)
