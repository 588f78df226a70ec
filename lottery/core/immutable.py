"""Responses that can never change, kept in each process and answered from there.

A closed draw's detail, winners and proof never change, and everyone reads them right after
the close. Their views mark such a response with `Cache-Control: …, immutable` and an ETag;
this middleware keeps the whole response (body and headers, as the rest of the stack made
it) in a bounded in-process LRU keyed by path, and answers the next GET of that path (without
a query string) before
the rest of the stack: no session, no DRF dispatch, no cache round trip (docs/performance.md).
A conditional GET whose If-None-Match holds the ETag gets 304.

Hits still pass the two gates that the skipped middleware would apply: the Host header must
be allowed, and with SECURE_SSL_REDIRECT the request must be secure; otherwise the request
goes through the full stack, which answers 400 or the redirect as usual.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.utils.cache import get_conditional_response

from .requestid import HEADER as REQUEST_ID_HEADER

MAX_ENTRIES = 1024  # a few KiB each: the recent closed draws' three reads, many times over
_NOT_KEPT = {REQUEST_ID_HEADER.lower(), "set-cookie", "content-length"}


@dataclass(frozen=True)
class _Kept:
    status: int
    content: bytes
    headers: tuple[tuple[str, str], ...]
    etag: str | None

    def response(self) -> HttpResponse:
        response = HttpResponse(self.content, status=self.status)
        for name, value in self.headers:
            response[name] = value
        return response


def is_immutable(response: HttpResponseBase) -> bool:
    return "immutable" in response.get("Cache-Control", "")


# One store per process, shared by every handler in it.
_kept: OrderedDict[str, "_Kept"] = OrderedDict()
_lock = threading.Lock()


def forget_all() -> None:
    """Drop every kept response: for tests, whose databases start again with the same dates."""
    with _lock:
        _kept.clear()


class ImmutableResponseMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method != "GET" or request.META.get("QUERY_STRING"):
            return self.get_response(request)
        key = request.path
        kept = _kept.get(key)
        if kept is not None and self._may_answer(request):
            with _lock:
                if key in _kept:
                    _kept.move_to_end(key)
            return self._answer(request, kept)
        response = self.get_response(request)
        if response.status_code == 200 and is_immutable(response) and not response.streaming:
            self._keep(key, response)
        return response

    @staticmethod
    def _may_answer(request: HttpRequest) -> bool:
        try:
            request.get_host()
        except DisallowedHost:
            return False
        return request.is_secure() or not settings.SECURE_SSL_REDIRECT

    @staticmethod
    def _answer(request: HttpRequest, kept: _Kept) -> HttpResponseBase:
        response = kept.response()
        if kept.etag is None:
            return response
        conditional = get_conditional_response(request, etag=kept.etag, response=response)
        if isinstance(conditional, HttpResponseNotModified):
            for name, value in kept.headers:  # RFC 9110: a 304 repeats the caching headers
                if name.lower() in ("cache-control", "vary", "expires"):
                    conditional[name] = value
        return conditional

    def _keep(self, key: str, response: HttpResponseBase) -> None:
        headers = tuple((k, v) for k, v in response.items() if k.lower() not in _NOT_KEPT)
        kept = _Kept(
            status=response.status_code,
            content=response.content,  # type: ignore[attr-defined]
            headers=headers,
            etag=response.get("ETag"),
        )
        with _lock:
            _kept[key] = kept
            _kept.move_to_end(key)
            while len(_kept) > MAX_ENTRIES:
                _kept.popitem(last=False)
