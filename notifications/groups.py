"""Channel-layer group names: one group per user, joined by each of their sockets."""


def user_group(user_id: int) -> str:
    return f"user.{user_id}"
