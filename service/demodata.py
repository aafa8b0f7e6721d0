"""`flask demo-data`: a handful of named users to try the API with by hand.

Five users, written through the same query functions the endpoints use: Alice, Bob and Carol
are friends with each other; Dave has asked Alice to be friends and Alice has asked Erin;
Bob and Carol have each shared a page with Alice, and Alice has shared one with all her
friends (Bob has read it, Carol has not). With development sign-in on, it prints a token
for each user. It refuses a database that already holds users, friendships or shares unless
given --force (then it adds the demo users next to them, skipping those already there).
"""
from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from .extensions import db
from .friendships.models import Friendship
from .share_notifications import queries as shares
from .share_notifications.models import ShareNotification
from .timeutil import utcnow
from .users import queries as users
from .users.models import User

DEMO_USERS = (
    # user_id, first name, last name, date of birth
    ("alice", "Alice", "Anderson", dt.date(1994, 3, 12)),
    ("bob", "Bob", "Brown", dt.date(1991, 7, 30)),
    ("carol", "Carol", "Clark", None),
    ("dave", "Dave", "Davis", None),
    ("erin", "Erin", "Evans", dt.date(1999, 11, 2)),
)
FRIENDS = (("alice", "bob"), ("alice", "carol"), ("bob", "carol"))
PENDING = (("dave", "alice"), ("alice", "erin"))  # (requester, addressee)
PERSONAL_SHARES = (
    ("bob", "alice", "https://en.wikipedia.org/wiki/Hangul", "Hangul - Wikipedia"),
    ("carol", "alice", "https://www.python.org/dev/peps/pep-0020/", "PEP 20 - The Zen of Python"),
)
BROADCAST = ("alice", "https://github.com/pallets/flask", "Flask on GitHub")
DEMO_EMAIL_DOMAIN = "example.com"


def demo_email(user_id: str) -> str:
    return f"{user_id}@{DEMO_EMAIL_DOMAIN}"


def database_holds_data() -> bool:
    return any(
        db.session.execute(select(func.count()).select_from(model)).scalar_one() > 0
        for model in (User, Friendship, ShareNotification)
    )


def create_demo_data() -> list[str]:
    """Write the demo rows in one transaction; returns the user ids created."""
    created = []
    for user_id, first, last, dob in DEMO_USERS:
        if users.get_user(user_id) is None:
            users.create_user(user_id, demo_email(user_id), first, last, dob=dob)
            created.append(user_id)
    if not created:
        return created
    now = utcnow()
    for a, b in FRIENDS:
        db.session.add(Friendship(user_id1=a, user_id2=b, requested_at=now, accepted_at=now))
    for requester, addressee in PENDING:
        db.session.add(Friendship(user_id1=requester, user_id2=addressee, requested_at=now))
    db.session.flush()
    for sender, recipient, url, title in PERSONAL_SHARES:
        shares.create_personal_share(sender, recipient, url, title)
    sender, url, title = BROADCAST
    broadcast = shares.create_broadcast(sender, url, title)
    shares.mark_read("bob", [broadcast])
    return created


@click.command("demo-data")
@click.option("--force", is_flag=True, help="Add the demo users to a database that already holds data.")
@with_appcontext
def demo_data_command(force: bool) -> None:
    """Create five demo users (alice, bob, carol, dave, erin) with friends, requests and shares."""
    if database_holds_data() and not force:
        raise click.ClickException(
            "the database already holds users, friendships or shares; demo data goes into an "
            "empty one (add --force to add the demo users anyway)"
        )
    if force and any(users.get_user(user_id) is not None for user_id, *_ in DEMO_USERS):
        raise click.ClickException("some demo users exist already: the demo data was loaded before")
    created = create_demo_data()
    # The counts user search picks its trigrams by (migration 0006) include the new names.
    db.session.execute(select(func.pagenow_refresh_search_trigrams()))
    db.session.commit()
    click.echo(f"demo data: created {', '.join(created)}")
    config = current_app.config["PAGENOW_CONFIG"]
    if not config.dev_sign_in_dir:
        click.echo("development sign-in is off: sign in as these users through your Cognito pool")
        return
    from .devsignin import DEFAULT_HOURS, dev_token

    click.echo(f"tokens (valid {DEFAULT_HOURS} h; more with `flask dev-token USER_ID`):")
    for user_id, *_ in DEMO_USERS:
        click.echo(f"{user_id.upper()}_TOKEN={dev_token(config.dev_sign_in_dir, user_id, demo_email(user_id))}")
