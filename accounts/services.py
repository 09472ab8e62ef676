"""Account writes: registration, login, token rotation, logout."""

from __future__ import annotations

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Lower
from rest_framework import exceptions
from rest_framework_simplejwt.tokens import AccessToken

from common.exceptions import Conflict
from common.secret_tokens import secret_digest
from history.audit import audit_record
from notifications.live import session_sockets_close

from . import app_passwords, tokens
from .models import AppPassword

User = get_user_model()


def _names_taken(*, username: str, email: str) -> dict[str, list[str]]:
    """The uniqueness errors, each on the field that collides and saying nothing about the other account.

    Compared as the unique constraints compare (lower() in the database, so their indexes serve it).
    """
    errors: dict[str, list[str]] = {}
    if User.objects.alias(name=Lower("username")).filter(name=Lower(Value(username))).exists():
        errors["username"] = ["A user with that username already exists."]
    if User.objects.alias(address=Lower("email")).filter(address=Lower(Value(email))).exists():
        errors["email"] = ["A user with that email already exists."]
    return errors


@transaction.atomic
def user_register(*, username: str, email: str, password: str) -> tuple[User, dict[str, str]]:
    """Create an account and its first session. Raises ValidationError (400) on taken names or weak passwords."""
    errors = _names_taken(username=username, email=email)
    try:
        validate_password(password, User(username=username, email=email))
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise exceptions.ValidationError(errors)
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError as exc:  # a concurrent registration took a name between check and insert: say which
        errors = _names_taken(username=username, email=email) or {
            "username": ["A user with that username or email already exists."]
        }
        raise exceptions.ValidationError(errors) from exc
    audit_record(actor=user, action="auth.register", target=user)
    return user, tokens.tokens_for(user)


def _credentials_check(*, request, username: str | None, email: str | None, password: str) -> User:
    """The user these credentials name (`username` may also be an email); a failure is audited and raises
    AuthenticationFailed (401)."""
    user = authenticate(request=request, username=username, email=email, password=password)
    if user is None:
        # No transaction to join: the failure is recorded on its own (the name tried, never the password).
        audit_record(actor=None, action="auth.login_failed", data={"username": (username or email or "")[:254]})
        raise exceptions.AuthenticationFailed("No active account found with the given credentials.")
    return user


def user_login(*, request, username: str | None, email: str | None, password: str) -> tuple[User, dict[str, str]]:
    """Check credentials (`username` may also be an email) and open a session. Raises AuthenticationFailed (401)."""
    user = _credentials_check(request=request, username=username, email=email, password=password)
    with transaction.atomic():
        pair = tokens.tokens_for(user)
        audit_record(actor=user, action="auth.login", target=user)
    return user, pair


def token_refresh(*, refresh: str) -> dict[str, str]:
    """Rotate a refresh token: a new pair, the old refresh token dead. Raises InvalidToken (401)."""
    user, pair = tokens.refresh_rotate(refresh)
    audit_record(actor=user, action="auth.refresh", target=user)
    return pair


@transaction.atomic
def user_logout(*, user: User, access: AccessToken, refresh: str | None = None) -> None:
    """End the caller's session: its access token and refresh token answer 401 from now on."""
    tokens.session_revoke(access=access, raw_refresh=refresh, user=user)
    audit_record(actor=user, action="auth.logout", target=user)
    if access.get(tokens.SESSION_CLAIM):
        session_sockets_close(session_id=access[tokens.SESSION_CLAIM])


def browser_login(*, request, username: str, password: str) -> User:
    """Log a person in with a Django session (the browsable API and the history pages): the same credentials
    check and audit as a token login. Raises AuthenticationFailed (401)."""
    user = _credentials_check(request=request, username=username, email=None, password=password)
    with transaction.atomic():
        django_login(request, user)  # a new session key and CSRF token: no session fixation
        audit_record(actor=user, action="auth.login", target=user, data={"via": "session"})
    return user


def browser_logout(*, request) -> None:
    """End the browser's Django session (the tokens of API clients are untouched)."""
    user = request.user
    django_logout(request)
    if user.is_authenticated:
        audit_record(actor=user, action="auth.logout", target=user, data={"via": "session"})


class TooManyAppPasswords(Conflict):
    slug = "too-many-app-passwords"
    title = "Too many app passwords."
    default_detail = f"An account has at most {AppPassword.PER_USER_MAX} app passwords; revoke one first."


@transaction.atomic
def app_password_create(*, user: User, name: str) -> tuple[AppPassword, str]:
    """A new app password for `user`: (row, secret); the secret is never stored. Raises TooManyAppPasswords (409)."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # serializes creates: the cap holds under races
    if AppPassword.objects.filter(user=user).count() >= AppPassword.PER_USER_MAX:
        raise TooManyAppPasswords()
    secret = app_passwords.new_app_password()
    row = AppPassword.objects.create(user=user, name=name, digest=secret_digest(secret))
    audit_record(actor=user, action="auth.app_password_created", target=row, data={"name": name})
    return row, secret


@transaction.atomic
def app_password_revoke(*, user: User, app_password: AppPassword, actor=None) -> None:
    """Delete an app password of `user` (by them, or by staff in the admin): the next request with it is refused."""
    audit_record(
        actor=actor or user,
        action="auth.app_password_revoked",
        target=app_password,
        data={"name": app_password.name, "user": user.pk},
    )
    app_password.delete()


@transaction.atomic
def app_passwords_revoke_all(*, user: User, actor=None) -> int:
    """Delete every app password of `user` (on deactivation); the number deleted."""
    count, _ = AppPassword.objects.filter(user=user).delete()
    if count:
        audit_record(actor=actor, action="auth.app_passwords_revoked", target=user, data={"count": count})
    return count
