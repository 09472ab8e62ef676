from django.core.paginator import Paginator as DjangoPaginator
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from common.fields import parse_positive_int

MAX_PAGE_SIZE = 100
PAGE_SIZE_MESSAGE = f"Must be a whole number from 1 to {MAX_PAGE_SIZE}."


class Paginator(DjangoPaginator):
    """Django's paginator; a list that can read a page and its own size in one query (`read_page(offset=, limit=)`,
    e.g. the calendar's pages, events/selectors.py) is asked to read the requested page before it is counted, so
    that the count and the page are one query, not two. Any other list is paginated as Django does."""

    READ_AHEAD_ROWS = 2**31 - 1  # past any list's size: a page beyond is answered by the count alone (404)

    def page(self, number):
        read_page = getattr(self.object_list, "read_page", None)
        if read_page is not None and "count" not in self.__dict__:  # not counted yet (`?page=last` counts first)
            try:
                wanted = int(number)  # as Django's validate_number reads it, which answers anything else below
            except (TypeError, ValueError):
                wanted = 0
            offset, limit = (wanted - 1) * self.per_page, self.per_page + self.orphans
            if wanted >= 1 and offset + limit <= self.READ_AHEAD_ROWS:
                read_page(offset=offset, limit=limit)
        return super().page(number)


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default 20, at most 100); answers {count, next, previous, results}.

    A `page_size` that is not a whole number from 1 to 100 is a 400: it used to fall back to the default
    (and one above 100 to 100), which hid client bugs, and the schema's bound is the one enforced here.
    """

    django_paginator_class = Paginator
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = parse_positive_int(raw)
        if size is None or size > self.max_page_size:
            raise ValidationError({self.page_size_query_param: [PAGE_SIZE_MESSAGE]})
        return size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
                parameter["description"] = PAGE_SIZE_DESCRIPTION
        return parameters


PAGE_SIZE_DESCRIPTION = f"Items per page: default 20, at most {MAX_PAGE_SIZE}; anything else is a 400."
