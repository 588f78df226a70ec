"""Closed draws' public reads, kept in each process and answered from there.

A closed draw's proof never changes, and its detail and winners change only with a winner's
display name; everyone reads them right after the close. Their views say for how long each
stays right, with an ETag: `Cache-Control: public, max-age=…, immutable` for good, or
`public, max-age=N` (a winner's rename must show within N seconds). This middleware keeps
such a 200 GET response (body and headers, as the rest of the stack made it) in a bounded
in-process LRU keyed by path, and answers the next GET of that path (without a query
string) before the rest of the stack: no session, no DRF dispatch, no cache round trip
(docs/performance.md). A response that is not immutable is kept for its max-age only and
answered with the max-age left, so no cache downstream keeps it past the moment its view
set. A conditional GET whose If-None-Match holds the ETag gets 304.

Hits still pass the two gates that the skipped middleware would apply: the Host header must
be allowed, and with SECURE_SSL_REDIRECT the request must be secure; otherwise the request
goes through the full stack, which answers 400 or the redirect as usual.
"""

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.utils.cache import get_conditional_response, get_max_age, patch_cache_control

from .requestid import HEADER as REQUEST_ID_HEADER

# How Cache-Control separates its directives (django.utils.cache has the same, untyped).
_CC_DELIM = re.compile(r"\s*,\s*")

MAX_ENTRIES = 1024  # a few KiB each: the recent closed draws' three reads, many times over
_NOT_KEPT = {REQUEST_ID_HEADER.lower(), "set-cookie", "content-length"}


@dataclass(frozen=True)
class _Kept:
    status: int
    content: bytes
    headers: tuple[tuple[str, str], ...]
    etag: str | None
    expires: float | None  # time.time() from which it is not answered; None: immutable

    def fresh(self, now: float) -> bool:
        return self.expires is None or self.expires - now >= 1

    def response(self, now: float) -> HttpResponse:
        response = HttpResponse(self.content, status=self.status)
        for name, value in self.headers:
            response[name] = value
        if self.expires is not None:
            patch_cache_control(response, max_age=int(self.expires - now))
        return response


def _lifetime(response: HttpResponseBase) -> float:
    """Seconds this response may be answered from memory: for good if immutable, its max-age
    if public, else 0."""
    directives = {d.split("=")[0].lower() for d in _CC_DELIM.split(response.get("Cache-Control", ""))}
    if "immutable" in directives:
        return math.inf
    if "public" in directives:
        return get_max_age(response) or 0
    return 0


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
        now = time.time()
        kept = _kept.get(key)
        if kept is not None and kept.fresh(now) and self._may_answer(request):
            with _lock:
                if key in _kept:
                    _kept.move_to_end(key)
            return self._answer(request, kept, now)
        response = self.get_response(request)
        if response.status_code == 200 and not response.streaming:
            lifetime = _lifetime(response)
            if lifetime > 0:
                self._keep(key, response, expires=None if lifetime == math.inf else now + lifetime)
        return response

    @staticmethod
    def _may_answer(request: HttpRequest) -> bool:
        try:
            request.get_host()
        except DisallowedHost:
            return False
        return request.is_secure() or not settings.SECURE_SSL_REDIRECT

    @staticmethod
    def _answer(request: HttpRequest, kept: _Kept, now: float) -> HttpResponseBase:
        response = kept.response(now)
        if kept.etag is None:
            return response
        # Given a response, Django returns it when no precondition answers first.
        conditional = get_conditional_response(request, etag=kept.etag, response=response) or response
        if isinstance(conditional, HttpResponseNotModified):
            for name in ("Cache-Control", "Vary", "Expires"):  # RFC 9110: a 304 repeats them
                if response.has_header(name):
                    conditional[name] = response[name]
        return conditional

    def _keep(self, key: str, response: HttpResponseBase, *, expires: float | None) -> None:
        headers = tuple((k, v) for k, v in response.items() if k.lower() not in _NOT_KEPT)
        kept = _Kept(
            status=response.status_code,
            content=response.content,  # type: ignore[attr-defined]
            headers=headers,
            etag=response.get("ETag"),
            expires=expires,
        )
        with _lock:
            _kept[key] = kept
            _kept.move_to_end(key)
            while len(_kept) > MAX_ENTRIES:
                _kept.popitem(last=False)
