from rest_framework import serializers

from accounts.representation import user_ref
from accounts.serializers import UserRefSerializer
from common.fields import MAX_ID, StrictCharField
from common.representation import instant

from .models import EventPermission
from .roles import Role

MAX_SHARES_PER_REQUEST = 100


class PermissionSerializer(serializers.ModelSerializer):
    user = UserRefSerializer(read_only=True)
    granted_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = EventPermission
        fields = ["user", "role", "granted_by", "granted_at"]
        read_only_fields = fields

    def to_representation(self, permission) -> dict:
        # What the declared fields give (tests/events/test_serializer_output.py compares), without building them.
        return {
            "user": user_ref(permission, "user"),
            "role": _ROLE.to_representation(permission.role),
            "granted_by": user_ref(permission, "granted_by"),
            "granted_at": instant(permission.granted_at),
        }


_ROLE = serializers.ChoiceField(choices=Role.choices)


class ShareTargetSerializer(serializers.Serializer):
    """One user to share with, named by exactly one of user_id, username or email."""

    user_id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    username = StrictCharField(required=False, max_length=150)
    email = serializers.EmailField(required=False, max_length=254)
    role = serializers.ChoiceField(choices=Role.choices)

    def validate(self, attrs):
        named = [key for key in ("user_id", "username", "email") if key in attrs]
        if len(named) != 1:
            raise serializers.ValidationError("Name the user by exactly one of user_id, username or email.")
        return attrs


class ShareInputSerializer(serializers.Serializer):
    users = ShareTargetSerializer(many=True, allow_empty=False, max_length=MAX_SHARES_PER_REQUEST)


class RoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class PermissionListSerializer(serializers.Serializer):
    results = PermissionSerializer(many=True)
