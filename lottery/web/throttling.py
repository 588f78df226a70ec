"""The API's rate limits (docs/api.md, conventions) applied to the HTML forms that do the same thing.

The pages reuse the API views' throttle classes *and* their counters (the cache key names
the API view), so a form is no way around a limit: ten sign-in attempts a minute per
account is ten in total, whether they came as JSON or as a form.
"""

import math
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.http.request import HttpHeaders
from rest_framework.views import APIView


@dataclass
class _ThrottleRequest:
    """What DRF's throttles read from a request: META and headers (client IP; DRF 3.17+ reads
    X-Forwarded-For from `headers`) and data (e-mail)."""

    META: dict[str, Any]
    headers: HttpHeaders
    data: dict[str, Any] = field(default_factory=dict)


def throttle_wait(request: HttpRequest, api_view: type[APIView], data: dict[str, Any]) -> int | None:
    """Seconds to wait when `api_view`'s limits are used up for this request, else None.

    Counts this request against every limit, as the API does.
    """
    shim = _ThrottleRequest(META=request.META, headers=request.headers, data=data)
    view = api_view()
    waits = []
    for throttle_class in api_view.throttle_classes:
        throttle = throttle_class()
        if not throttle.allow_request(shim, view):  # type: ignore[arg-type]
            waits.append(throttle.wait() or 60)
    if not waits:
        return None
    return max(1, math.ceil(max(waits)))


def rate_limited_message(wait: int) -> str:
    return f"Too many attempts. Please wait {wait} seconds and try again."
