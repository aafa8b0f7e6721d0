"""User search by email or name, ranked (API.md §4.5, §5.4)."""
from __future__ import annotations

from flask.views import MethodView

from ..auth import auth_required, current_caller
from ..apidoc import errors
from ..http import TERM_MAX_LENGTH, Blueprint, check_term, term_parameter
from . import queries
from .schemas import SEARCH_RESULT_EXAMPLES, SearchPagingArgs, UserSearchResultSchema

blp = Blueprint("search", __name__, url_prefix="/users/search", description="Ranked user search")

SEARCH_DESCRIPTION = (
    "All registered users except the caller whose {field} contains the term, case-insensitively and "
    "literally (%, _ and \\ are plain characters). The term is one URL-encoded path segment of 1 to "
    f"{TERM_MAX_LENGTH} characters (longer → 400). Ranking: friends first (friendship_state 2, then 1, "
    "then 0), then more mutual friends, then how the field matches (starts with the term, ends with it, "
    "contains it), then user_id descending. `limit` defaults to 15 and is at most 15."
)
EMAIL_PRIVACY = (
    " A user whose email_public is false is found only when the term is their whole address "
    "(case-insensitive): substrings of a private address find nothing."
)


def _term_doc(example: str) -> dict:
    return term_parameter(example, "What to look for; URL-encode it (encodeURIComponent)")


def _search(kind: str, term: str, paging: dict) -> list:
    return queries.search_users(kind, current_caller().user_id, check_term(term), paging["limit"], paging["offset"])


@blp.route("/email/<text:term>", parameters=[_term_doc("bob.okafor@example.com")])
class SearchByEmail(MethodView):
    @auth_required
    @blp.arguments(SearchPagingArgs, location="query")
    @blp.response(200, UserSearchResultSchema(many=True), example=SEARCH_RESULT_EXAMPLES)
    @errors(400, 503)
    @blp.doc(description=SEARCH_DESCRIPTION.format(field="email") + EMAIL_PRIVACY)
    def get(self, paging, term):
        """Search users by email"""
        return _search("email", term, paging)


@blp.route("/name/<text:term>", parameters=[_term_doc("bob ok")])
class SearchByName(MethodView):
    @auth_required
    @blp.arguments(SearchPagingArgs, location="query")
    @blp.response(200, UserSearchResultSchema(many=True), example=SEARCH_RESULT_EXAMPLES)
    @errors(400, 503)
    @blp.doc(description=SEARCH_DESCRIPTION.format(field="'first_name last_name'"))
    def get(self, paging, term):
        """Search users by full name"""
        return _search("name", term, paging)
