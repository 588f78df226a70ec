"""Draws, ballots and stats API (docs/api.md): thin views over draws.services and selectors."""

import hashlib
from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.crypto import constant_time_compare
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lottery.core.api import (
    PageNumberPagination,
    SharedFieldsSerializer,
    paginated,
    parse_date_param,
    problem_responses,
)
from lottery.payments.gateway import Card

from . import selectors, services
from .ballot_list import ballot_txt_pages
from .models import Ballot, Draw
from .serializers import (
    BallotSerializer,
    DrawSerializer,
    DrawWinnersSerializer,
    ProofSerializer,
    ReceiptSerializer,
    StatsSerializer,
    WinningsSerializer,
)

DATE_PARAM = OpenApiParameter("date", OpenApiTypes.DATE, OpenApiParameter.PATH, description="YYYY-MM-DD")
PAGE_PARAMS = [
    OpenApiParameter(
        "page", OpenApiTypes.INT, OpenApiParameter.QUERY, description="1-based; past the end: 404"
    ),
    OpenApiParameter(
        "page_size", OpenApiTypes.INT, OpenApiParameter.QUERY, description="20 by default, 100 at most"
    ),
]
OPERATOR_TOKEN_PARAM = OpenApiParameter(
    "X-Operator-Token",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="LOTTERY_OPERATOR_TOKEN: an operator closes a draw without a staff session (403 if wrong)",
)


def draw_as_dict(draw: Draw) -> dict[str, Any]:
    return {
        "date": draw.date,
        "type": draw.type_name,
        "status": draw.status,
        "closes_at": draw.closes_at,
        "closed_at": draw.closed_at,
        "ballot_count": selectors.draw_ballot_count(draw),
        "prizes": selectors.draw_prizes(draw),
        "winners": selectors.draw_winners(draw),
        "commitment": draw.commitment,
    }


def ballot_as_dict(ballot: Ballot) -> dict[str, Any]:
    return {
        "id": ballot.pk,
        "draw": ballot.draw.date if ballot.draw is not None else None,  # no query when null
        "status": selectors.ballot_status(ballot),
        "prize": selectors.ballot_prize(ballot),
        "purchased_at": ballot.purchased_at,
    }


def _paginated(request: Request, view: APIView, queryset: Any, to_dict: Any, serializer: Any) -> Response:
    paginator = PageNumberPagination()
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(
        serializer([to_dict(item) for item in page or []], many=True).data
    )


class DrawListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["open", "drawing", "closed"], required=False)

    @extend_schema(
        tags=["draws"],
        operation_id="draws_list",
        parameters=[FilterSerializer, *PAGE_PARAMS],
        responses={200: paginated(DrawSerializer), **problem_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        draws = selectors.draws_list(status=filters.validated_data.get("status"))
        return _paginated(request, self, draws, draw_as_dict, DrawSerializer)


def _draw_read(
    request: Request, date: str, part: str, build: Any, *, names_winners: bool
) -> HttpResponseBase:
    """A public read of one draw. A closed draw never changes but for its winners' display
    names, so its rendered JSON is cached in the shared cache, in each web process
    (lottery.core.immutable) and by clients and proxies, which revalidate with its ETag: for
    good if it names no one, else no longer than a rename may take to show."""
    rendered = selectors.draw_rendered(
        date=parse_date_param(date), part=part, build=build, names_winners=names_winners
    )
    response = HttpResponse(rendered.body, content_type="application/json")
    if not rendered.closed:
        response["Cache-Control"] = "no-cache"
        return response
    etag = f'"{hashlib.sha256(rendered.body).hexdigest()[:32]}"'
    if rendered.fresh_for is None:
        response["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response["Cache-Control"] = f"public, max-age={rendered.fresh_for}"
    response["ETag"] = etag
    # Given a response, Django returns it when no precondition answers first.
    return get_conditional_response(request, etag=etag, response=response) or response


class DrawDetailApi(APIView):
    @extend_schema(
        tags=["draws"],
        operation_id="draws_retrieve",
        parameters=[DATE_PARAM],
        responses={200: DrawSerializer, **problem_responses(400, 404)},
    )
    def get(self, request: Request, date: str) -> HttpResponseBase:
        return _draw_read(
            request,
            date,
            "detail",
            lambda draw: DrawSerializer(draw_as_dict(draw)).data,
            names_winners=True,
        )


class DrawWinnersApi(APIView):
    @extend_schema(
        tags=["draws"],
        operation_id="draws_winners",
        parameters=[DATE_PARAM],
        responses={200: DrawWinnersSerializer, **problem_responses(400, 404)},
    )
    def get(self, request: Request, date: str) -> HttpResponseBase:
        return _draw_read(
            request,
            date,
            "winners",
            lambda draw: (
                DrawWinnersSerializer(
                    {"date": draw.date, "status": draw.status, "winners": selectors.draw_winners(draw)}
                ).data
            ),
            names_winners=True,
        )


class DrawProofApi(APIView):
    @extend_schema(
        tags=["draws"],
        operation_id="draws_proof",
        parameters=[DATE_PARAM],
        responses={200: ProofSerializer, **problem_responses(400, 404)},
    )
    def get(self, request: Request, date: str) -> HttpResponseBase:
        return _draw_read(request, date, "proof", selectors.draw_proof, names_winners=False)


class DrawBallotsTxtApi(APIView):
    @extend_schema(
        tags=["draws"],
        operation_id="draws_ballots_txt",
        parameters=[DATE_PARAM],
        responses={
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="ballots.txt (docs/fairness.md)"
            ),
            **problem_responses(400, 404, 409),
        },
    )
    def get(self, request: Request, date: str) -> StreamingHttpResponse:
        draw = selectors.draw_get(date=parse_date_param(date))
        selectors.draw_assert_frozen(draw)
        response = StreamingHttpResponse(ballot_txt_pages(draw.pk), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="ballots-{draw.date.isoformat()}.txt"'
        return response


class DrawCloseApi(APIView):
    """Operators: a staff user, or `X-Operator-Token` (compared in constant time)."""

    @extend_schema(
        tags=["staff"],
        operation_id="draws_close",
        parameters=[DATE_PARAM, OPERATOR_TOKEN_PARAM],
        request=None,
        responses={200: DrawSerializer, **problem_responses(400, 401, 403, 404, 503)},
    )
    def post(self, request: Request, date: str) -> Response:
        actor = self._operator(request)
        draw_date = parse_date_param(date)
        services.draw_close_by_date(date=draw_date, clock=timezone.now, actor=actor)
        return Response(DrawSerializer(draw_as_dict(selectors.draw_get(date=draw_date))).data)

    def _operator(self, request: Request) -> Any:
        token = request.headers.get("X-Operator-Token")
        if token is not None:
            expected = settings.LOTTERY_OPERATOR_TOKEN
            if expected and constant_time_compare(token, expected):
                return None
            raise PermissionDenied("Wrong operator token.")
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated()
        if not request.user.is_staff:
            raise PermissionDenied("Only staff and operators can close a draw.")
        return request.user


class _PaymentSerializer(SharedFieldsSerializer):
    card_number = serializers.RegexField(r"^[0-9 ]{12,30}$", max_length=30)
    expiry_month = serializers.IntegerField(min_value=1, max_value=12)
    expiry_year = serializers.IntegerField(min_value=1000, max_value=9999)
    cvc = serializers.RegexField(r"^[0-9]{3,4}$")


class BallotPurchaseApi(APIView):
    permission_classes = (IsAuthenticated,)

    class InputSerializer(SharedFieldsSerializer):
        quantity = serializers.IntegerField(min_value=1, max_value=1000)
        draw = serializers.DateField(required=False, allow_null=True)
        payment = _PaymentSerializer()

    @extend_schema(
        tags=["ballots"],
        operation_id="ballots_purchase",
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                {"type": "string", "minLength": 1, "maxLength": 255},
                OpenApiParameter.HEADER,
                required=False,
                description="Same key and body: the original answer, nothing charged again",
            )
        ],
        responses={201: ReceiptSerializer, **problem_responses(400, 401, 402, 403, 404, 409, 422, 503)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 1 <= len(key) <= 255:
            raise serializers.ValidationError({"Idempotency-Key": ["Use 1 to 255 characters."]})
        payment = data["payment"]
        purchase = services.ballot_purchase(
            user=request.user,  # type: ignore[arg-type]
            quantity=data["quantity"],
            draw_date=data.get("draw"),
            card=Card(
                number=payment["card_number"].replace(" ", ""),
                expiry_month=payment["expiry_month"],
                expiry_year=payment["expiry_year"],
                cvc=payment["cvc"],
            ),
            clock=timezone.now,
            idempotency_key=key,
            fingerprint=services.purchase_fingerprint(request.data),
        )
        return Response(purchase.receipt, status=status.HTTP_201_CREATED)


class BallotListApi(APIView):
    permission_classes = (IsAuthenticated,)

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=list(selectors.BALLOT_STATUSES), required=False)
        draw = serializers.DateField(required=False)

    @extend_schema(
        tags=["ballots"],
        operation_id="ballots_list",
        parameters=[FilterSerializer, *PAGE_PARAMS],
        responses={200: paginated(BallotSerializer), **problem_responses(400, 401, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        ballots = selectors.ballots_list(
            user=request.user,  # type: ignore[arg-type]
            status=filters.validated_data.get("status"),
            draw_date=filters.validated_data.get("draw"),
        )
        return _paginated(request, self, ballots, ballot_as_dict, BallotSerializer)


class BallotDetailApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        tags=["ballots"],
        operation_id="ballots_retrieve",
        responses={200: BallotSerializer, **problem_responses(401, 404)},
    )
    def get(self, request: Request, ballot_id: int) -> Response:
        ballot = selectors.ballot_get(user=request.user, ballot_id=ballot_id)  # type: ignore[arg-type]
        return Response(BallotSerializer(ballot_as_dict(ballot)).data)


class BallotAssignApi(APIView):
    permission_classes = (IsAuthenticated,)

    class InputSerializer(SharedFieldsSerializer):
        draw = serializers.DateField()

    @extend_schema(
        tags=["ballots"],
        operation_id="ballots_assign",
        request=InputSerializer,
        responses={200: BallotSerializer, **problem_responses(400, 401, 403, 404, 409, 503)},
    )
    def post(self, request: Request, ballot_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draw_date = serializer.validated_data["draw"]
        ballot = services.ballot_assign(
            user=request.user,  # type: ignore[arg-type]
            ballot_id=ballot_id,
            draw_date=draw_date,
            clock=timezone.now,
        )
        # Just put into an open draw: assigned, no prize yet.
        assigned = {"id": ballot.pk, "draw": draw_date, "status": "assigned", "prize": None}
        return Response(BallotSerializer({**assigned, "purchased_at": ballot.purchased_at}).data)


class WinningsApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        tags=["ballots"],
        operation_id="me_winnings",
        responses={200: WinningsSerializer, **problem_responses(401)},
    )
    def get(self, request: Request) -> Response:
        winnings = selectors.user_winnings(user=request.user)  # type: ignore[arg-type]
        return Response(WinningsSerializer(winnings.__dict__).data)


class StatsApi(APIView):
    @extend_schema(tags=["draws"], operation_id="stats", responses={200: StatsSerializer})
    def get(self, request: Request) -> Response:
        return Response(StatsSerializer(selectors.lottery_stats()).data)
