"""Routes of the share_notifications resource (being built; see the issue for this resource)."""
from ..http import Blueprint

blp = Blueprint("share_notifications", __name__, description="share_notifications")
