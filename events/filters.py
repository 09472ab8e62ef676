import django_filters
from django.db.models import Q

from common.fields import BoundedIsoDateTimeFilter, StrictBooleanFilter, query_flag
from sharing.roles import Role

from .models import Event
from .selectors import events_in_window


class EventFilter(django_filters.FilterSet):
    start = BoundedIsoDateTimeFilter(
        method="filter_window", help_text="With `end`: events with any occurrence overlapping [start, end)."
    )
    end = BoundedIsoDateTimeFilter(method="filter_window", help_text="See `start`.")
    q = django_filters.CharFilter(
        method="filter_q", max_length=200, help_text="Text in title, description or location."
    )
    location = django_filters.CharFilter(lookup_expr="icontains", max_length=255)
    role = django_filters.ChoiceFilter(field_name="my_role", choices=Role.choices, help_text="The caller's role.")
    is_recurring = StrictBooleanFilter()
    updated_since = BoundedIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    ordering = django_filters.OrderingFilter(
        fields=("start_time", "end_time", "title", "created_at", "updated_at"),
        help_text="start_time (default), end_time, title, created_at, updated_at; `-` for descending.",
    )

    class Meta:
        model = Event
        fields: list[str] = []

    def filter_window(self, queryset, name, value):
        return queryset  # applied once for both bounds in filter_queryset

    def filter_q(self, queryset, name, value):
        return queryset.filter(
            Q(title__icontains=value) | Q(description__icontains=value) | Q(location__icontains=value)
        )

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        start, end = self.form.cleaned_data.get("start"), self.form.cleaned_data.get("end")
        # With expand=true the window is applied while expanding (selectors.calendar_occurrences).
        if (start is not None or end is not None) and not query_flag(self.data, "expand"):
            queryset = events_in_window(queryset, start, end)
        if not self.form.cleaned_data.get("ordering"):
            queryset = queryset.order_by("start_time", "id")
        else:
            queryset = queryset.order_by(*queryset.query.order_by, "id")
        return queryset
