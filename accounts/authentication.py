from django.core.exceptions import ValidationError
from django.db import connections, router
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
        found = user_and_revocation(self.user_model, user_id, validated_token.get(api_settings.JTI_CLAIM))
        if found is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        user, revoked = found
        if revoked:
            raise InvalidToken({"detail": "Token has been revoked.", "code": "token_not_valid"})
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


_USER_QUERIES: dict[tuple[str, type], tuple[str, list[str], list]] = {}


def user_and_revocation(user_model, user_id, jti) -> tuple[object, bool] | None:
    """(the token's user, whether the token was logged out), or None for no such user: one query.

    Every authenticated request runs it, so its SQL is written once per process: the same query
    built with the ORM (an `Exists` annotation and `.get()`) cost 0.6 ms of compiling per request,
    twenty times its execution (docs/PERFORMANCE.md, "Per-request cost"). The row becomes the user
    through the database's converters, exactly as the ORM would make it.
    """
    id_field = user_model._meta.get_field(api_settings.USER_ID_FIELD)
    alias = router.db_for_read(user_model)
    connection = connections[alias]
    try:
        user_id = id_field.to_python(user_id)
    except ValidationError:
        return None
    bounds = connection.ops.integer_field_ranges.get(id_field.get_internal_type())
    if user_id is None or (bounds and not bounds[0] <= user_id <= bounds[1]):
        return None  # no row can have it
    query = _USER_QUERIES.get((connection.vendor, user_model))
    if query is None:
        query = _USER_QUERIES[(connection.vendor, user_model)] = _user_query(connection, user_model, id_field)
    sql, attnames, converters = query
    with connection.cursor() as cursor:
        cursor.execute(sql, [jti, id_field.get_db_prep_value(user_id, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row[:-1])
    for index, column, functions in converters:
        for function in functions:
            values[index] = function(values[index], column, connection)
    return user_model.from_db(alias, attnames, values), bool(row[-1])


def _user_query(connection, user_model, id_field) -> tuple[str, list[str], list]:
    quote = connection.ops.quote_name
    fields = user_model._meta.concrete_fields
    revoked = RevokedAccessToken._meta
    sql = (
        f"SELECT {', '.join(f'u.{quote(field.column)}' for field in fields)}, "  # noqa: S608 (quoted identifiers)
        f"EXISTS (SELECT 1 FROM {quote(revoked.db_table)} r WHERE r.{quote(revoked.get_field('jti').column)} = %s) "
        f"FROM {quote(user_model._meta.db_table)} u WHERE u.{quote(id_field.column)} = %s"
    )
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(user_model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if functions:
            converters.append((index, column, functions))
    return sql, [field.attname for field in fields], converters
