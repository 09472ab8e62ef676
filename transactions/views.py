"""`POST /api/transactions`: thin view over transactions.operations.transaction_execute."""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.refusals import PROBLEM_CONTENT_TYPE
from common.schema import ProblemSerializer
from common.views import ThrottleRefusalsMixin
from events.request_options import change_reason
from events.serializers import DeleteInputSerializer, EventInputSerializer
from history.serializers import RollbackInputSerializer
from sharing.serializers import ShareTargetSerializer

from .operations import MAX_OPERATIONS, OPS, transaction_execute

_REFERENCE_HELP = 'An id, or a reference to an earlier result such as "$0.id".'


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\$\d+\.[A-Za-z0-9_.]+$"}],
        "description": _REFERENCE_HELP,
    }
)
class _IdOrReference(serializers.JSONField):
    pass


def _op(name: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=[name])


class CreateOperationSerializer(serializers.Serializer):
    op = _op("create")
    data = EventInputSerializer(help_text="The body of POST /api/events.")


class UpdateOperationSerializer(serializers.Serializer):
    op = _op("update")
    event_id = _IdOrReference()
    data = EventInputSerializer(help_text="The body of PATCH /api/events/{id}: any subset of the fields.")


class DeleteOperationSerializer(DeleteInputSerializer):
    op = _op("delete")
    event_id = _IdOrReference()


class ShareOperationSerializer(serializers.Serializer):
    op = _op("share")
    event_id = _IdOrReference()
    users = ShareTargetSerializer(many=True, help_text="As POST /api/events/{id}/share; user_id may be a reference.")


class UnshareOperationSerializer(serializers.Serializer):
    op = _op("unshare")
    event_id = _IdOrReference()
    user_id = _IdOrReference()


class RollbackOperationSerializer(RollbackInputSerializer):
    """The body of POST /api/events/{id}/rollback/{version}, with the event and the version."""

    op = _op("rollback")
    event_id = _IdOrReference()
    version = _IdOrReference()


class TransactionInputSerializer(serializers.Serializer):
    operations = serializers.ListField(
        # JSONField items: a non-object operation fails in transaction_execute, with its failed_index.
        child=serializers.JSONField(allow_null=True),
        min_length=1,
        max_length=MAX_OPERATIONS,
        help_text="Run in order.",
    )


class TransactionRequestSerializer(serializers.Serializer):
    """The documented shape of TransactionInputSerializer (each operation is checked when it runs)."""

    operations = PolymorphicProxySerializer(
        component_name="TransactionOperation",
        serializers={
            "create": CreateOperationSerializer,
            "update": UpdateOperationSerializer,
            "delete": DeleteOperationSerializer,
            "share": ShareOperationSerializer,
            "unshare": UnshareOperationSerializer,
            "rollback": RollbackOperationSerializer,
        },
        resource_type_field_name="op",
        many=True,
    )


class OperationResultSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=OPS)
    status = serializers.IntegerField(help_text="What the single endpoint would have answered: 200, 201 or 204.")
    result = serializers.JSONField(
        allow_null=True,
        help_text="create, update, rollback: the event (as their single endpoints answer it); share: "
        "{results: [permissions]}; delete, unshare: null.",
    )


class TransactionResultSerializer(serializers.Serializer):
    results = OperationResultSerializer(many=True)


class TransactionProblemSerializer(ProblemSerializer):
    """The failing operation's problem, with its index; nothing was changed. A request refused as a whole (its
    body, before any operation ran) is a plain problem, without `failed_index` and `failed_op`."""

    failed_index = serializers.IntegerField(required=False, help_text="The index of the operation that failed.")
    failed_op = serializers.CharField(required=False)
    conflicts = serializers.JSONField(required=False, help_text="As the failing operation's own 409 carries.")


class TransactionView(ThrottleRefusalsMixin, APIView):
    checks_its_items = True  # each operation's members, with its failed_index (transactions/operations.py)

    @extend_schema(
        tags=["events"],
        operation_id="transactions_execute",
        summary="Several writes, all or nothing",
        request=TransactionRequestSerializer,
        responses={
            200: TransactionResultSerializer,
            **{
                (code, PROBLEM_CONTENT_TYPE): TransactionProblemSerializer
                for code in (400, 403, 404, 409, 410, 412, 413, 415)
            },
        },
        description=(
            f"At most {MAX_OPERATIONS} operations (`op`: {', '.join(OPS)}), run in order in one database "
            "transaction. Each is checked exactly as its single endpoint (visibility → 404, role → 403, "
            "validation → 400, If-Match/base_version → 412, scheduling and merge conflicts → 409). The first "
            "that fails rolls back every one before it: the answer is that operation's problem with "
            "`failed_index` and `failed_op`, and nothing is changed. `event_id`, `user_id`, `version` and "
            'a share\'s `users[].user_id` may refer to an earlier result: `"$N.path"`, e.g. `"$0.id"` for the '
            "event operation 0 created. Notifications and sync entries go out only after the commit. "
            "`X-Change-Reason` is the reason of every operation that gives none."
        ),
    )
    def post(self, request):
        data = TransactionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        results = transaction_execute(
            actor=request.user, operations=data.validated_data["operations"], reason=change_reason(request, {})
        )
        return Response({"results": results})
