"""The API reads JSON only: amounts as Decimals (never floats), no NaN or Infinity, a size limit and a depth
limit. (A NUL character in a string is each field's to refuse: DRF's CharField does, naming the field.)"""

import json
from decimal import Decimal

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No body this API reads nests deeper than an order's lines (3 levels); a deeper one is refused before the
# serializers, whose errors and fingerprints recurse, see it.
MAX_DEPTH = 32


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def too_deep(document) -> bool:
    """Whether the parsed document nests deeper than MAX_DEPTH: a walk with a stack, not recursion, so that
    no depth can exhaust Python's."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        too_deep_error = ParseError(
            _("The body nests more than %(depth)s levels deep; nothing was changed.") % {"depth": MAX_DEPTH}
        )
        try:
            text = stream.read().decode("utf-8") if stream is not None else ""
            document = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(_("The body is not valid JSON: %(error)s") % {"error": error}) from None
        except RecursionError:  # deeper than even Python's own limit
            raise too_deep_error from None
        if too_deep(document):
            raise too_deep_error
        return document
