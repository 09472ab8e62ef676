"""Input fields that refuse what DRF would silently coerce."""

import django_filters
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would turn 123 or 1.5 into "123"."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """true/false (also 1/0, yes/no); anything else is a 400, where django-filter would ignore the filter."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [(v, v) for v in sorted(_TRUE | _FALSE)])
        kwargs.setdefault("coerce", lambda value: value.lower() in _TRUE)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in ("", None):
            return qs
        return super().filter(qs, value if isinstance(value, bool) else str(value).lower() in _TRUE)
