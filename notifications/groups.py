"""Channel-layer group names: one group per user, joined by each of their sockets."""


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_id: str) -> str:
    """The sockets opened with the access tokens of one login session (the tokens' `sid`)."""
    return f"session.{session_id}"
