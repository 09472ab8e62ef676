from django.db.models import Exists
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication as BaseJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from .models import RevokedAccessToken


class JWTAuthentication(BaseJWTAuthentication):
    """simplejwt's bearer authentication, refusing access tokens revoked by logout.

    The denylist is a table (`RevokedAccessToken`), read in the same query that loads the token's
    user: no query more per request, and no cache that could fail open.
    """

    www_authenticate_realm = "api"

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        revoked = RevokedAccessToken.objects.filter(jti=validated_token.get(api_settings.JTI_CLAIM))
        try:
            user = (
                self.user_model.objects.filter(**{api_settings.USER_ID_FIELD: user_id})
                .annotate(access_token_revoked=Exists(revoked))
                .get()
            )
        except self.user_model.DoesNotExist as exc:
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from exc
        if user.access_token_revoked:
            raise InvalidToken({"detail": "Token has been revoked.", "code": "token_not_valid"})
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user
