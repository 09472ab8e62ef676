from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower


class CaseInsensitiveUserManager(UserManager):
    def get_by_natural_key(self, username: str):
        return self.get(username__iexact=username)


class User(AbstractUser):
    """Our user from the first migration: usernames and emails are unique regardless of case."""

    email = models.EmailField("email address", max_length=254)

    objects = CaseInsensitiveUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), condition=~models.Q(email=""), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username


class RevokedAccessToken(models.Model):
    """An access token logged out before it expired, by jti: the denylist, in the database so it never fails open.

    Checked in the same query that loads the token's user; rows are useless once `expires_at` has
    passed (the token is refused for its age) and `manage.py prune_revoked_tokens` deletes them.
    """

    jti = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="revoked_access_tokens")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.jti


class AppPassword(models.Model):
    """A password for one app (a calendar app speaking CalDAV) that can only send a user name and a password.

    Only the digest of its 192-bit secret is stored, and finds the row: common/secret_tokens.py says why.
    """

    NAME_MAX = 100
    PER_USER_MAX = 50

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="app_passwords")
    name = models.CharField(max_length=NAME_MAX)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["user", "created_at"], name="app_password_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"
