"""The API's JSON parser: DRF's, refusing bodies nested deeper than MAX_DEPTH (400 parse_error).

Deep nesting is checked on the text, before the decoder runs: the C decoder recurses once per
level, so 100,000 levels exceeded the recursion limit (a 500), or, wherever something had
raised that limit, overflowed the C stack and killed the process. The body's size is bounded
before any of it is read, by lottery.core.bodylimit.
"""

import io
import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Our deepest body (a purchase's `payment`) is 2 levels deep.
MAX_DEPTH = 64

_ESCAPE = re.compile(r"\\.", re.DOTALL)
# Linear: with the escapes gone, a string is a quote, anything but a quote, a quote.
_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            # Undecodable bytes are the decoder's to report; they cannot hide a bracket.
            text = raw.decode(encoding, errors="replace")
        except (LookupError, UnicodeError) as exc:
            # A `charset` Python knows but that is no text encoding (zlib, hex, rot13, idna).
            raise ParseError(f"JSON parse error - {encoding!r} is not a text encoding") from exc
        if nested_deeper_than(text, MAX_DEPTH):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels")
        return super().parse(io.BytesIO(raw), media_type, parser_context)


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether some point of `text` is inside more than `limit` open arrays/objects.

    Brackets inside strings do not count. For any text the decoder would accept up to some
    point, the depth counted here up to that point is exactly the decoder's, so the decoder
    never goes deeper than this says (malformed text may count deeper than it is: refused).
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    depth = 0
    for bracket in brackets:
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False
