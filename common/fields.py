"""Input fields and parsers that refuse what DRF or django-filter would silently coerce, or choke on.

Every value a client sends — body, query string or URL — goes through one of these, so that bad
input is a 400 (or, for an id in a URL, a 404), never a 500 further down:

- ids: `parse_id` (digits only, no sign, no leading zero, at most MAX_ID) and `max_value=MAX_ID`;
- instants: `BoundedDateTimeField` / `BoundedIsoDateTimeFilter`, years MIN_YEAR to MAX_YEAR, so
  that converting between zones or adding a day can never overflow;
- flags: `parse_flag` (true/false, 1/0, yes/no in any case; an empty value is the same as none).
"""

from __future__ import annotations

import re
from datetime import datetime

import django_filters
from django import forms
from django.http import QueryDict
from django_filters.fields import IsoDateTimeField
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError

MAX_ID = 2**63 - 1  # the largest primary key (and user id) a client may name: a signed 64-bit integer
MIN_YEAR, MAX_YEAR = 1900, 2200
DATETIME_RANGE_MESSAGE = f"Must be between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31."

_ID = re.compile(r"[1-9][0-9]{0,18}")


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would turn 123 or 1.5 into "123"."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- ids ---------------------------------------------------------------------------------------


def parse_positive_int(value, *, maximum: int = MAX_ID) -> int | None:
    """`value` (an int or its canonical decimal text) as an int in [1, maximum]; None for anything else.

    Canonical means what we write ourselves: no sign, no leading zero, no spaces or underscores, so
    `/events/010`, `/events/+10` or `/events/1_0` never name event 10.
    """
    if isinstance(value, bool):
        return None
    text = str(value) if isinstance(value, int) else value
    if not isinstance(text, str) or not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if number <= maximum else None


def parse_id(value, *, maximum: int = MAX_ID, detail: str | None = None) -> int:
    """An id from a URL (or a transaction operation): anything that is not one of ours is simply not found (404)."""
    number = parse_positive_int(value, maximum=maximum)
    if number is None:
        raise NotFound(detail)
    return number


def query_data(params: QueryDict) -> dict:
    """A query string for a serializer, each parameter's last value.

    DRF reads a QueryDict like an HTML form, where an optional field sent empty counts as left out;
    in a query string `?until=` is a value, and a bad one: a 400, not a silently ignored filter.
    """
    return {key: params.get(key) for key in params}


# --- instants ----------------------------------------------------------------------------------


def _in_range(value: datetime) -> bool:
    return MIN_YEAR <= value.year <= MAX_YEAR


class BoundedDateTimeField(serializers.DateTimeField):
    """RFC 3339 input between MIN_YEAR and MAX_YEAR (as written, before any zone conversion).

    Python's datetimes stop at years 1 and 9999: an instant near either end overflows as soon as it
    is moved to another zone or a day is added. An input field only: values are checked as they come in.
    """

    default_error_messages = {"out_of_range": DATETIME_RANGE_MESSAGE}

    def enforce_timezone(self, value: datetime) -> datetime:
        if not _in_range(value):
            self.fail("out_of_range")
        return self.convert_timezone(value)

    def convert_timezone(self, value: datetime) -> datetime:
        return super().enforce_timezone(value)

    def to_representation(self, value):
        return serializers.DateTimeField().to_representation(value)


class BoundedIsoDateTimeField(IsoDateTimeField):
    default_error_messages = {"empty": "Enter a date and time; leave the parameter out for no filter."}

    def to_python(self, value):
        if isinstance(value, str) and not value.strip():  # `?until=`: present but empty (absent is None)
            raise forms.ValidationError(self.error_messages["empty"], code="empty")
        result = super().to_python(value)
        if result is not None and not _in_range(result):
            raise forms.ValidationError(DATETIME_RANGE_MESSAGE, code="out_of_range")
        return result


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """django-filter's ISO 8601 filter, refusing instants outside MIN_YEAR..MAX_YEAR with a 400."""

    field_class = BoundedIsoDateTimeField


# --- flags -------------------------------------------------------------------------------------

_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})
FLAG_MESSAGE = "Must be true or false (also 1/0, yes/no)."


def parse_flag(value) -> bool | None:
    """true/false, 1/0, yes/no (any case) as a bool; None (absent or empty) as None. ValueError otherwise."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "":
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(value)


def query_flag(params: QueryDict | dict, name: str, *, default: bool = False) -> bool:
    """The boolean query parameter `name` (absent or empty: `default`); 400 for anything else."""
    try:
        value = parse_flag(params.get(name))
    except ValueError:
        raise ValidationError({name: [FLAG_MESSAGE]}) from None
    return default if value is None else value


class StrictBooleanField(forms.Field):
    def to_python(self, value):
        try:
            return parse_flag(value)
        except ValueError:
            raise forms.ValidationError(FLAG_MESSAGE, code="invalid") from None


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A flag filter read by `parse_flag`; empty is no filter, anything unknown is a 400 (django-filter ignores it)."""

    field_class = StrictBooleanField
