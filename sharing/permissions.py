from rest_framework.exceptions import PermissionDenied

from .roles import role_allows


def require_role(event, needed: str) -> None:
    """Seen but not allowed: 403 naming the role needed (unseen events never get this far: 404)."""
    if not role_allows(getattr(event, "my_role", None), needed):
        raise PermissionDenied(f"This needs the {needed} role on the event; yours is {event.my_role}.")
