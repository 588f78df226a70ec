"""Shared API plumbing: JSON-only negotiation, pagination, problem schema."""

import datetime
from collections.abc import Iterable
from typing import Any, ClassVar

from rest_framework import pagination, serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.utils.serializer_helpers import BindingDict


class JSONOnlyNegotiation(BaseContentNegotiation):
    """The API speaks JSON whatever `Accept` says, so errors are never a 406 or HTML."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        for parser in parsers:
            if request.content_type.split(";")[0].strip() == parser.media_type:
                return parser
        return None

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, first.media_type


class SharedFieldsSerializer(serializers.Serializer):
    """An input serializer for a hot path, whose fields are built once per class.

    DRF deep-copies every declared field for each serializer instance, that is for each
    request: a third of a purchase's validation time (docs/performance.md). Fields that keep
    no per-request state — no `partial`, no defaults from the request context, no
    `read_only`/`HiddenField` tricks — validate the same whichever instance they are bound
    to, so every instance of the class shares the first one's.
    """

    _shared_fields: ClassVar[BindingDict | None] = None

    @property
    def fields(self) -> BindingDict:
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            shared = BindingDict(self)
            for name, field in self.get_fields().items():
                shared[name] = field
            cls._shared_fields = shared
        return shared


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every error response of this API carries them."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    # A field named like Serializer.errors: this serializer only documents the schema.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_responses(*statuses: int) -> dict[Any, Any]:
    """OpenAPI response entries for the listed error statuses, served as problem+json."""
    from drf_spectacular.utils import OpenApiResponse

    return {
        (status, PROBLEM_MEDIA_TYPE): OpenApiResponse(
            response=ProblemSerializer, description="Problem details (RFC 9457)"
        )
        for status in statuses
    }


class UTCDateTimeField(serializers.DateTimeField):
    """API datetimes are ISO 8601 in UTC (docs/api.md), whatever the lottery's time zone."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", datetime.UTC)
        super().__init__(**kwargs)


def parse_date_param(value: str, field: str = "date") -> datetime.date:
    """A YYYY-MM-DD path or query value, or a 400 validation_error naming the field."""
    try:
        if len(value) == 10:
            return datetime.date.fromisoformat(value)
    except ValueError:
        pass
    raise serializers.ValidationError({field: ["Enter a valid date as YYYY-MM-DD."]})


def paginated(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The schema of a page of `item`s: {count, next, previous, results}."""
    name = f"Paginated{item.__name__.removesuffix('Serializer')}List"
    fields = {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": item(many=True),
    }
    return type(name + "Serializer", (serializers.Serializer,), fields)
