from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


# What each role may do; checked with `role_allows`.
RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


def role_allows(role: str | None, needed: str) -> bool:
    """True when `role` is at least `needed` (owner ⊃ editor ⊃ viewer)."""
    return role is not None and RANK.get(role, 0) >= RANK[needed]
