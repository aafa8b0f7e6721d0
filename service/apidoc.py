"""The hand-written parts of /openapi.json: the `info` text, the error responses operations
declare, and the sample values their examples share.

Each error status is one named response component; an operation lists the statuses it can
answer with `errors(...)` (and `auth_required` adds 401), so no operation falls back on a
catch-all `default` response and the fuzzing test can hold each one to its list."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import INCLUDE, Schema, fields, validate

from .limits import MAX_OFFSET, MAX_REQUEST_TARGET

# Sample values shared by the examples, shaped like what the service really stores.
ALICE = "5b0c7e52-8d0f-4c55-9d43-6b1f2f0e9a31"
BOB = "9e3a1d74-2f6b-4a08-b5c2-71d9c4e8f016"
CAROL = "c2d48f07-61a9-4b3e-8e15-0a7f3b9d6c24"
EVENT_ID = "1c6f9d3e-7a24-4f0b-9c85-3e2b8d1a6f47"
SENT_AT = "2026-11-28T09:14:03.512377"
SEEN_AT = "2026-11-28T10:02:41.090015"
REQUESTED_AT = "2026-11-20T18:45:12.734501"
ACCEPTED_AT = "2026-11-21T07:30:55.218846"
IMAGE_AT = "2026-10-04T16:22:09.601233"

class ErrorSchema(Schema):
    """Every error body (service/errors.py); documentation only, never used to dump."""

    class Meta:
        unknown = INCLUDE

    message = fields.String(required=True, validate=validate.Length(min=1), metadata={"description": "What went wrong, in words meant for people"})
    errors = fields.Dict(metadata={
        "description": "Field validation only: the reasons per field (by location, then field name)"})


# status: (component name, when it is answered, an example message the service really sends)
_ERRORS = {
    400: ("BadRequest", "The request is malformed or a value is invalid; nothing was changed.",
          "Invalid request: first_name: Missing data for required field."),
    401: ("Unauthorized", "No bearer token, or the token is not an acceptable ID token "
          "(`WWW-Authenticate: Bearer error=\"invalid_token\"`).", "Token has expired"),
    403: ("Forbidden", "The caller is signed in but not allowed to do this.",
          "You can only share with an accepted friend"),
    404: ("NotFound", "The caller is not registered yet, or a user or row the request names does not exist.",
          "User not found"),
    409: ("Conflict", "The request conflicts with the current state (a duplicate or an existing row).",
          "A friend request or friendship already exists between these users"),
    413: ("PayloadTooLarge", "The request body is larger than 1 MB.",
          "The data value transmitted exceeds the capacity limit."),
    502: ("BadGateway", "Image storage (S3) refused or failed the operation; the database is unchanged.",
          "Could not delete the image from storage"),
    503: ("ServiceUnavailable", "A dependency (the database or image storage) is unavailable; retry later, "
          "after `Retry-After` seconds when the header is present.",
          "Service temporarily unavailable, please retry"),
}

_RETRY_AFTER = {"Retry-After": {
    "description": "Seconds to wait before retrying (sent with the database outage answer)",
    "schema": {"type": "integer"},
}}


def _error_response(status: int) -> dict:
    _, description, message = _ERRORS[status]
    response = {
        "description": description,
        "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"},
            "example": {"message": message},
        }},
    }
    if status == 503:
        response["headers"] = _RETRY_AFTER
    return response


def error_ref(status: int) -> dict:
    return {"$ref": f"#/components/responses/{_ERRORS[status][0]}"}


ERROR_RESPONSE_NAMES = {status: name for status, (name, _, _) in _ERRORS.items()}


def errors(*statuses: int):
    """Document the error statuses an operation answers (besides auth_required's 401)."""
    # int keys: they replace flask-smorest's own 400 entry added by @blp.arguments.
    return Blueprint.doc(responses={status: error_ref(status) for status in statuses})


TOKEN_REQUIRED_DOC = {"security": [{"bearerAuth": []}], "responses": {401: error_ref(401)}}

INFO_DESCRIPTION = f"""\
PageNow's user service: profiles, friendships, user search and the pages users share with
their friends. The web app and the browser extension call it; requests and answers are JSON.

## Signing in

Operations shown with a lock need `Authorization: Bearer <token>`. The token is an **ID
token** (not an access token) issued by the PageNow Cognito user pool for this app client.
The caller's user id is the token's `cognito:username` claim and their email its `email`
claim; neither is ever read from a request body. Against a local development server,
`flask dev-token USER_ID` prints a token that server accepts: paste it into **Authorize**.
Operations without a lock are public and ignore the header. Registering and updating your
profile also need the token's `email_verified` claim to be true (403 otherwise). While the
service has not yet been able to load the pool's signing keys, operations with a lock answer
503 with `Retry-After` rather than 401, so clients retry instead of signing the user out.

Most operations on your own data also need you to be registered (`POST /users/me`); until
then they answer 404 `User not found`, which is how clients tell a new user.

## Errors

Every error is JSON with a `message` for people, for example `{{"message": "User not found"}}`;
field validation failures add `errors` with the reasons per field. Each operation lists the
statuses it can answer:

| Status | Meaning |
|---|---|
| 400 | malformed request or invalid value; nothing changed |
| 401 | no token, or a token this service does not accept |
| 403 | signed in, but not allowed to do this |
| 404 | you are not registered, or what the request names does not exist |
| 409 | conflicts with the current state (a duplicate) |
| 413 | body above 1 MB |
| 502 | image storage failed; nothing changed |
| 503 | the database, image storage or the sign-in keys are unavailable: retry (after `Retry-After` seconds when sent) |

Any request can also get 414 (URL longer than {MAX_REQUEST_TARGET} characters), 404 / 405
(unknown path or method) and, for a fault in the service itself, 500 with a generic message.
Checks run in this order: token, input, registration, the target and your permission, then
the current state; so a request that is wrong in two ways gets the earlier answer.

## Lists and paging

Lists take `limit` and `offset`, base-10 integers from 0. Each list states its default and
maximum `limit` and its order; a `limit` above the maximum is lowered to it, not refused.
`offset` is at most {MAX_OFFSET}; a larger one is 400. `limit=0`, or an `offset` past the end,
gives `[]`. A page shorter than `limit` is the last
one. Orders end on a unique key, so consecutive pages neither repeat nor skip rows.

## Values

- Timestamps are UTC, ISO 8601 without an offset: `{SENT_AT}` (add `Z` yourself if your
  parser needs one). Dates (`dob`) are `YYYY-MM-DD`.
- User ids are Cognito user names (often a UUID such as `{ALICE}`), compared exactly.
- Body booleans are JSON `true`/`false`; query booleans are `true`, `false`, `1` or `0`.
- Bodies are read as JSON whatever their `Content-Type`; unknown fields are ignored.
- Mutations without a richer answer return `{{"success": true}}` (deleting your account
  answers 204 with no body); creations answer 200.
"""


def spec_options() -> dict:
    """flask-smorest's API_SPEC_OPTIONS: info text, bearer scheme, error body and responses."""
    return {
        "info": {"description": INFO_DESCRIPTION},
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "A Cognito ID token (locally: `flask dev-token USER_ID`)",
                },
            },
            "responses": {name: _error_response(status) for status, (name, _, _) in _ERRORS.items()},
        },
    }


def path_parameter(name: str, description: str, example: str, **schema) -> dict:
    """A path parameter's documentation (for Blueprint.route's `parameters`)."""
    return {"in": "path", "name": name, "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1, **schema}, "example": example}


USER_ID_PARAMETER = path_parameter(
    "user_id", "The user's id (their Cognito user name), matched exactly", BOB)


METRICS_OPERATION = {
    "tags": ["core"],
    "summary": "Prometheus metrics: requests, their durations and the database pools",
    "description": (
        "Public to whoever can reach it: keep it off the internet (a load balancer rule or a "
        "security group). Prometheus text format; with several gunicorn workers every scrape "
        "adds up all of them. Series: `pagenow_http_requests_total{method,endpoint,status}`, "
        "`pagenow_http_request_duration_seconds{method,endpoint}` and "
        "`pagenow_db_pool_connections_{in_use,open,max}{pool}`."
    ),
    "responses": {"200": {"description": "Prometheus text exposition format", "content": {"text/plain": {
        "schema": {"type": "string"},
        "example": (
            "# HELP pagenow_http_requests_total HTTP requests by method, endpoint template and status\n"
            "# TYPE pagenow_http_requests_total counter\n"
            'pagenow_http_requests_total{endpoint="/users/me",method="GET",status="200"} 1520.0\n'
            "# HELP pagenow_db_pool_connections_in_use Database connections checked out of the pool\n"
            "# TYPE pagenow_db_pool_connections_in_use gauge\n"
            'pagenow_db_pool_connections_in_use{pool="default"} 2.0\n'
        ),
    }}}},
}


def document_metrics(app, api) -> None:
    """Add /metrics, a plain Flask view (service/observability.py), to the OpenAPI document."""
    api.spec.path(rule=next(app.url_map.iter_rules("metrics")), operations={"get": METRICS_OPERATION})
