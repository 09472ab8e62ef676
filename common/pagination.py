from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from common.fields import parse_positive_int

MAX_PAGE_SIZE = 100
PAGE_SIZE_MESSAGE = f"Must be a whole number from 1 to {MAX_PAGE_SIZE}."


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default 20, at most 100); answers {count, next, previous, results}.

    A `page_size` that is not a whole number from 1 to 100 is a 400: it used to fall back to the default
    (and one above 100 to 100), which hid client bugs, and the schema's bound is the one enforced here.
    """

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
