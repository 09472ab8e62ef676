from rest_framework_simplejwt.authentication import JWTAuthentication as BaseJWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from .tokens import access_is_revoked


class JWTAuthentication(BaseJWTAuthentication):
    """simplejwt's bearer authentication, refusing access tokens revoked by logout."""

    www_authenticate_realm = "api"

    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        if access_is_revoked(token):
            raise InvalidToken({"detail": "Token has been revoked.", "code": "token_not_valid"})
        return token
