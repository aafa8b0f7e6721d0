import datetime as dt


def utcnow() -> dt.datetime:
    """Naive UTC: the shared tables hold UTC in timestamp without time zone."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
