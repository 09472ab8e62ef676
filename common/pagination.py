from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from common.fields import parse_positive_int

PAGE_SIZE_MESSAGE = "Must be a whole number from 1; sizes above 100 are read as 100."


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default 20, at most 100); answers {count, next, previous, results}.

    A `page_size` that is not a whole number from 1 is a 400 (it used to fall back to the default,
    which hid client bugs); one above 100 is read as 100.
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = parse_positive_int(raw)
        if size is None:
            raise ValidationError({self.page_size_query_param: [PAGE_SIZE_MESSAGE]})
        return min(size, self.max_page_size)
