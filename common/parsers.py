"""JSON parser that answers 400, not 500, for every malformed body."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser


class JSONParser(DRFJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            # json's C scanner gives up on very deep nesting with RecursionError, which DRF lets through.
            raise ParseError("JSON parse error - nested too deeply.") from exc
        except UnicodeDecodeError as exc:
            raise ParseError("JSON parse error - the body is not valid UTF-8.") from exc
