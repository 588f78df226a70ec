"""Accounts API (docs/api.md, "Accounts"): thin views over accounts.services."""

from typing import cast

from django.conf import settings
from django.contrib.auth import login, logout, update_session_auth_hash
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.authentication import CSRFCheck
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lottery.core.api import DetailSerializer, problem_responses

from . import selectors, services, throttles
from .models import User
from .permissions import IsStaff
from .serializers import EmailField, PasswordField, UserSerializer, validate_iban

TAGS = ["accounts"]


def _accepted(detail: str) -> Response:
    return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


def _enforce_csrf_with_session_cookie(request: Request) -> None:
    """A JSON sign-in without a session cookie needs no CSRF token; with one it does."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return
    check = CSRFCheck(lambda req: None)  # type: ignore[arg-type]
    check.process_request(request._request)
    reason = check.process_view(request._request, None, (), {})  # type: ignore[arg-type]
    if reason:
        raise PermissionDenied(f"CSRF failed: {reason}")


class SignupApi(APIView):
    authentication_classes = ()
    throttle_classes = (throttles.SignupIPThrottle,)

    class InputSerializer(serializers.Serializer):
        email = EmailField()
        password = PasswordField()
        name = serializers.CharField(max_length=150)

    @extend_schema(
        tags=TAGS,
        operation_id="auth_signup",
        request=InputSerializer,
        responses={202: DetailSerializer, **problem_responses(400, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_signup(**serializer.validated_data)
        return _accepted("Check your inbox: we sent you an e-mail to continue.")


class VerifyEmailApi(APIView):
    authentication_classes = ()

    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=500)

    @extend_schema(
        tags=TAGS,
        operation_id="auth_verify_email",
        request=InputSerializer,
        responses={200: DetailSerializer, **problem_responses(400)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_verify_email(token=serializer.validated_data["token"])
        return Response({"detail": "Your e-mail address is confirmed. You can sign in now."})


class EmailOnlyInputSerializer(serializers.Serializer):
    email = EmailField()


class ResendVerificationApi(APIView):
    authentication_classes = ()
    throttle_classes = (throttles.EmailIPThrottle, throttles.EmailAccountThrottle)

    @extend_schema(
        tags=TAGS,
        operation_id="auth_resend_verification",
        request=EmailOnlyInputSerializer,
        responses={202: DetailSerializer, **problem_responses(400, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = EmailOnlyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_resend_verification(email=serializer.validated_data["email"])
        return _accepted("If this address has an unconfirmed account, we sent a new link.")


class SigninApi(APIView):
    authentication_classes = ()
    throttle_classes = (throttles.SigninIPThrottle, throttles.SigninAccountThrottle)

    class InputSerializer(serializers.Serializer):
        email = EmailField()
        password = PasswordField()

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        user = UserSerializer()

    @extend_schema(
        tags=TAGS,
        operation_id="auth_signin",
        request=InputSerializer,
        responses={200: OutputSerializer, **problem_responses(400, 401, 403, 429)},
    )
    def post(self, request: Request) -> Response:
        _enforce_csrf_with_session_cookie(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_authenticate(**serializer.validated_data)
        token = services.auth_token_create(user=user)
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return Response(self.OutputSerializer({"token": token, "user": user}).data)


class SignoutApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        tags=TAGS,
        operation_id="auth_signout",
        request=None,
        responses={204: None, **problem_responses(401, 403)},
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AuthToken):
            services.auth_token_revoke(token=request.auth)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordForgotApi(APIView):
    authentication_classes = ()
    throttle_classes = (throttles.EmailIPThrottle, throttles.EmailAccountThrottle)

    @extend_schema(
        tags=TAGS,
        operation_id="auth_password_forgot",
        request=EmailOnlyInputSerializer,
        responses={202: DetailSerializer, **problem_responses(400, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = EmailOnlyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_password_forgot(email=serializer.validated_data["email"])
        return _accepted("If this address has an account, we sent a link to reset its password.")


class PasswordResetApi(APIView):
    authentication_classes = ()

    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=500)
        password = PasswordField()

    @extend_schema(
        tags=TAGS,
        operation_id="auth_password_reset",
        request=InputSerializer,
        responses={200: DetailSerializer, **problem_responses(400)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_password_reset(**serializer.validated_data)
        return Response({"detail": "Your password has been changed. Please sign in again."})


class MeApi(APIView):
    permission_classes = (IsAuthenticated,)

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=150, required=False)
        bank_account = serializers.CharField(max_length=64, required=False, allow_blank=True)

        def validate_bank_account(self, value: str) -> str:
            return validate_iban(value)

    @extend_schema(
        tags=TAGS, operation_id="me_retrieve", responses={200: UserSerializer, **problem_responses(401)}
    )
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(cast(User, request.user)).data)

    @extend_schema(
        tags=TAGS,
        operation_id="me_update",
        request=InputSerializer,
        responses={200: UserSerializer, **problem_responses(400, 401, 403)},
    )
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(UserSerializer(user).data)


class PasswordChangeApi(APIView):
    permission_classes = (IsAuthenticated,)
    throttle_classes = (throttles.PasswordCheckAccountThrottle,)

    class InputSerializer(serializers.Serializer):
        current_password = PasswordField()
        new_password = PasswordField()

    @extend_schema(
        tags=TAGS,
        operation_id="me_password_change",
        request=InputSerializer,
        responses={204: None, **problem_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The token or the session that made the change is the one that stays signed in.
        token = request.auth if isinstance(request.auth, AuthToken) else None
        user = services.user_password_change(
            user=request.user,  # type: ignore[arg-type]
            current_password=serializer.validated_data["current_password"],
            new_password=serializer.validated_data["new_password"],
            keep_token=token,
            keep_session_key=None if token else request.session.session_key,
        )
        if token is None:
            update_session_auth_hash(request._request, user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _BanResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    banned = serializers.BooleanField()


class _BanApiBase(APIView):
    permission_classes = (IsAuthenticated, IsStaff)

    def _user(self, user_id: int) -> User:
        return selectors.user_get(user_id=user_id)

    def _result(self, user: User) -> Response:
        return Response(_BanResultSerializer({"id": user.pk, "banned": user.banned}).data)


class UserBanApi(_BanApiBase):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(
        tags=["staff"],
        operation_id="user_ban",
        request=InputSerializer,
        responses={200: _BanResultSerializer, **problem_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request, user_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        user = services.user_ban(
            user=self._user(user_id),
            actor=cast(User, request.user),
            reason=serializer.validated_data["reason"],
        )
        return self._result(user)


class UserUnbanApi(_BanApiBase):
    @extend_schema(
        tags=["staff"],
        operation_id="user_unban",
        request=None,
        responses={200: _BanResultSerializer, **problem_responses(401, 403, 404)},
    )
    def post(self, request: Request, user_id: int) -> Response:
        user = services.user_unban(user=self._user(user_id), actor=request.user)  # type: ignore[arg-type]
        return self._result(user)
