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
