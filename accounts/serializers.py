from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers

from common.fields import StrictCharField

User = get_user_model()


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email"]
        read_only_fields = fields

    def to_representation(self, user) -> dict:
        # What the declared fields give, without building them: `GET /api/auth/me` is the API's no-op, and
        # building this ModelSerializer's fields was a fifth of its cost (docs/PERFORMANCE.md).
        return {"id": user.pk, "username": user.username, "email": user.email}


class UserRefSerializer(serializers.ModelSerializer):
    """A user as other users see them."""

    class Meta:
        model = User
        fields = ["id", "username"]
        read_only_fields = fields

    def to_representation(self, user) -> dict:
        # What the declared fields give, without building them: this is nested in every event and
        # permission answered, and building a ModelSerializer's fields costs more than the row.
        return {"id": user.pk, "username": user.username}


class RegisterInputSerializer(serializers.Serializer):
    username = StrictCharField(min_length=1, max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField(max_length=254)
    password = StrictCharField(max_length=128, write_only=True, trim_whitespace=False)


class LoginInputSerializer(serializers.Serializer):
    username = StrictCharField(max_length=254, required=False, help_text="A username or an email address.")
    email = StrictCharField(max_length=254, required=False)
    password = StrictCharField(max_length=128, write_only=True, trim_whitespace=False)

    def validate(self, attrs):
        if not attrs.get("username") and not attrs.get("email"):
            raise serializers.ValidationError({"username": ["Give a username or an email."]})
        return attrs


class RefreshInputSerializer(serializers.Serializer):
    refresh = StrictCharField(max_length=4096)


class LogoutInputSerializer(serializers.Serializer):
    refresh = StrictCharField(max_length=4096, required=False)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class SessionSerializer(TokenPairSerializer):
    user = UserSerializer()


class AppPasswordInputSerializer(serializers.Serializer):
    name = StrictCharField(min_length=1, max_length=100, help_text="What the password is for, e.g. “Phone calendar”.")


class AppPasswordSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    last_used_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When an app last signed in with it (to the hour); null: never."
    )


class NewAppPasswordSerializer(AppPasswordSerializer):
    password = serializers.CharField(read_only=True, help_text="The secret: shown only in this answer.")
