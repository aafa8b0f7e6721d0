"""Routes of the search resource (being built; see the issue for this resource)."""
from ..http import Blueprint

blp = Blueprint("search", __name__, description="search")
