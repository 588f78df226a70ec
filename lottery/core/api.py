"""Shared API plumbing: JSON-only negotiation, pagination, problem schema."""

from typing import Any

from rest_framework import pagination, serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class JSONOnlyNegotiation(BaseContentNegotiation):
    """The API speaks JSON whatever `Accept` says, so errors are never a 406 or HTML."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        for parser in parsers:
            if request.content_type.split(";")[0].strip() == parser.media_type:
                return parser
        return None

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


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
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


def problem_responses(*statuses: int) -> dict[int, Any]:
    """OpenAPI response entries for the listed error statuses, all problem+json."""
    from drf_spectacular.utils import OpenApiResponse

    return {
        status: OpenApiResponse(response=ProblemSerializer, description="Problem details (RFC 9457)")
        for status in statuses
    }
