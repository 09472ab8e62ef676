import re

from django.urls import re_path
from rest_framework.routers import SimpleRouter


def route(path: str, view, name: str):
    """A URL that matches with and without a trailing slash, never redirecting.

    `path` uses `<name>` for an id segment; ids are opaque, anything up to the next slash matches
    and the view answers 404 for a malformed one.
    """
    regex = re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", path.strip("/"))
    return re_path(rf"^{regex}/?$", view, name=name)


class OptionalSlashRouter(SimpleRouter):
    """A router whose routes answer with and without the trailing slash (DRF only takes a bool)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
