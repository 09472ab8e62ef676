"""The write options (change_reason, conflict_strategy, base_version, on_conflict) are declared once and
mean the same in every body that carries them."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError

from events.serializers import (
    WRITE_OPTIONS,
    DeleteInputSerializer,
    EventInputSerializer,
    OccurrenceChangeSerializer,
)
from events.views import BatchInputSerializer
from history.serializers import RollbackInputSerializer
from transactions.views import RollbackOperationSerializer

CARRIERS = [
    (EventInputSerializer, ("change_reason", "conflict_strategy", "base_version", "on_conflict")),
    (OccurrenceChangeSerializer, ("change_reason", "conflict_strategy", "base_version")),
    (DeleteInputSerializer, ("base_version", "change_reason")),
    (BatchInputSerializer, ("conflict_strategy", "change_reason")),
    (RollbackInputSerializer, ("change_reason", "conflict_strategy", "base_version", "on_conflict")),
    (RollbackOperationSerializer, ("change_reason", "conflict_strategy", "base_version", "on_conflict")),
]
BAD = {"change_reason": "x" * 501, "conflict_strategy": "maybe", "base_version": 0, "on_conflict": "ignore"}


@pytest.mark.parametrize(("serializer", "options"), CARRIERS, ids=lambda value: getattr(value, "__name__", ""))
def test_each_body_declares_its_options_as_the_one_declaration(serializer, options):
    fields = serializer().fields
    assert [name for name in fields if name in WRITE_OPTIONS] == list(options)
    for name in options:
        assert repr(fields[name]) == repr(WRITE_OPTIONS[name]())


@pytest.mark.parametrize(("serializer", "options"), CARRIERS, ids=lambda value: getattr(value, "__name__", ""))
def test_each_body_refuses_a_bad_option_and_takes_a_blank_reason(serializer, options):
    for name in options:
        field = serializer().fields[name]
        with pytest.raises(ValidationError):
            field.run_validation(BAD[name])
    assert serializer().fields["change_reason"].run_validation("") == ""
