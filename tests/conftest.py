import pytest
from django.core.cache import cache, caches
from rest_framework.test import APIClient

from sharing import services as sharing_services
from sharing.roles import Role

from .factories import PASSWORD, UserFactory, make_event


@pytest.fixture(autouse=True)
def _clean_cache():
    # Throttle counters and cached answers live in the cache (Redis in CI's second run). CalDAV's texts are
    # cached by event id and version, and SQLite reuses the ids of a rolled-back test.
    cache.clear()
    caches["calendar_data"].clear()
    yield
    cache.clear()
    caches["calendar_data"].clear()


@pytest.fixture
def password():
    return PASSWORD


class Client(APIClient):
    def as_user(self, user):
        """Authenticate with a real access token, as a client would."""
        if user is None:
            self.credentials()
            return self
        from accounts.tokens import tokens_for

        self.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
        return self


@pytest.fixture
def api():
    return Client()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def event_with_roles(db):
    """An event with an owner, an editor and a viewer, plus a stranger and a user to share with.

    users["anonymous"] is None: `api.as_user(None)` sends no credentials.
    """
    users = {name: UserFactory(username=name) for name in ("owner", "editor", "viewer", "stranger", "new")}
    event = make_event(users["owner"], title="Planning")
    sharing_services.event_share(
        event=event,
        actor=users["owner"],
        targets=[
            {"user_id": users["editor"].pk, "role": Role.EDITOR},
            {"user_id": users["viewer"].pk, "role": Role.VIEWER},
        ],
    )
    users["anonymous"] = None
    return event, users
