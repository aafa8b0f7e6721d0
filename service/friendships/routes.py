"""Routes of the friendships resource (being built; see the issue for this resource)."""
from ..http import Blueprint

blp = Blueprint("friendships", __name__, description="friendships")
