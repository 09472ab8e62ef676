"""Content negotiation: an unknown `?format=` is a 406, as an Accept header that nothing matches is.

DRF answers 404 for it, which here would mean "no such resource, or not yours"; and it ignores a
`?format=` sent empty, which is no format either.
"""

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation

BROWSABLE = "api"


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if not format_suffix and request.query_params.get(self.settings.URL_FORMAT_OVERRIDE) == "":
            raise _unknown_format("", renderers)
        return super().select_renderer(request, renderers, format_suffix)

    def filter_renderers(self, renderers, format):
        # The browsable API answers a browser's Accept: text/html, not a ?format= (the schema lists no such format).
        matching = [renderer for renderer in renderers if renderer.format == format and renderer.format != BROWSABLE]
        if not matching:
            raise _unknown_format(format, renderers)
        return matching


def _unknown_format(format: str, renderers) -> NotAcceptable:
    known = ", ".join(renderer.format for renderer in renderers if renderer.format != BROWSABLE)
    return NotAcceptable(f"Unknown format {format!r}; use one of: {known}.")
