"""Request bodies are bounded before anything reads them.

Django reads a WSGI request body only up to its Content-Length, so the declared length is
the whole story: more than DATA_UPLOAD_MAX_MEMORY_SIZE (LOTTERY_MAX_BODY_BYTES, 1 MiB) is a
413 before one byte is read, whatever the content type. Django applies that setting itself
only to `request.body` and to form fields: DRF's JSON parser reads `request.stream` past it,
and multipart file parts are spooled to disk whatever their size. A body without a length
(`Transfer-Encoding: chunked`) is one Django would silently drop; it gets a 411 instead, so
the client is told rather than answered as if it had sent nothing.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .handlers import refusal


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if declared and declared.isdigit() and int(declared) > limit:
            return refusal(
                request,
                status=413,
                code="payload_too_large",
                title="Payload too large",
                detail=f"A request body may be at most {limit} bytes.",
            )
        if not declared and request.META.get("HTTP_TRANSFER_ENCODING"):
            return refusal(
                request,
                status=411,
                code="length_required",
                title="Length required",
                detail="Send the request body with a Content-Length header.",
            )
        return self.get_response(request)
