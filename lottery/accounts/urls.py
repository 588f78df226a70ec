from django.urls import path

from . import api

urlpatterns = [
    path("auth/signup", api.SignupApi.as_view()),
    path("auth/verify-email", api.VerifyEmailApi.as_view()),
    path("auth/resend-verification", api.ResendVerificationApi.as_view()),
    path("auth/signin", api.SigninApi.as_view()),
    path("auth/signout", api.SignoutApi.as_view()),
    path("auth/password/forgot", api.PasswordForgotApi.as_view()),
    path("auth/password/reset", api.PasswordResetApi.as_view()),
    path("me", api.MeApi.as_view()),
    path("me/password", api.PasswordChangeApi.as_view()),
    path("users/<dbid:user_id>/ban", api.UserBanApi.as_view()),
    path("users/<dbid:user_id>/unban", api.UserUnbanApi.as_view()),
]
