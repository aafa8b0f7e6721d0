"""Request-size guards the WSGI server does not give us.

gunicorn cannot cap the request line between 8190 bytes and unlimited, and the id-list
endpoints need more than 8190 (API.md §1: at least 16 KiB), so gunicorn runs unlimited
and the app refuses request targets above MAX_REQUEST_TARGET with 414. Put a proxy with
its own request-line limit (an ALB allows 16 KiB) in front for memory protection.
Bodies: Flask's MAX_CONTENT_LENGTH (1 MB) makes a larger Content-Length raise 413 (JSON via
the error handler). A chunked body has no length up front and werkzeug silently truncates it
at the cap, so chunked bodies are read here first and refused with 413 if anything is left.
"""
from __future__ import annotations

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import error_response

# Every paged list refuses offsets beyond this (API.md §8): deeper pages cost the database
# a scan of every skipped row, and no client pages that far.
MAX_OFFSET = 10_000

MAX_REQUEST_TARGET = 64 * 1024


def request_target_length(environ) -> int:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is not None:
        return len(raw)
    query = environ.get("QUERY_STRING", "")
    return len(environ.get("SCRIPT_NAME", "")) + len(environ.get("PATH_INFO", "")) + (len(query) + 1 if query else 0)


def refuse_oversized_request():
    """414 for a request target above MAX_REQUEST_TARGET, 413 for a chunked body above the cap."""
    environ = request.environ
    if request_target_length(environ) > MAX_REQUEST_TARGET:
        return error_response(414, f"Request URL is longer than {MAX_REQUEST_TARGET} characters")
    # The environ first: the common request (no Transfer-Encoding) leaves after one lookup.
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower() or request.content_length is not None:
        return None
    cap = request.max_content_length
    if cap is None:
        return None
    body = request.get_data(cache=True)  # cached for the parsers; at most `cap` bytes
    if len(body) >= cap and environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
