"""Account journeys: sign up, verify, sign in/out, passwords, profile (accounts.services)."""

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from lottery.accounts import api as accounts_api
from lottery.accounts import services, tokens
from lottery.accounts.errors import EmailNotVerified, InvalidCredentials
from lottery.core.errors import DomainError

from .. import forms
from ..throttling import rate_limited_message, throttle_wait

SIGNUP_SENT = "Check your inbox: we sent you an e-mail to continue."
RESEND_SENT = "If this address has an unconfirmed account, we sent a new confirmation link."
FORGOT_SENT = "If this address has an account, we sent a link to reset its password."


def _limited(request: HttpRequest, form: forms.forms.Form, api_view: type, data: dict[str, object]) -> bool:
    wait = throttle_wait(request, api_view, data)
    if wait is None:
        return False
    form.add_error(None, rate_limited_message(wait))
    return True


def _safe_next(request: HttpRequest, target: str | None) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("web:ballots")


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:home")
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not _limited(request, form, accounts_api.SignupApi, {"email": data["email"]}):
            try:
                services.user_signup(email=data["email"], password=data["password"], name=data["name"])
            except DomainError as exc:
                form.add_service_error(exc)
            else:
                # Same answer whether or not the address already had an account.
                return render(request, "web/accounts/signup_sent.html", {"email": data["email"]})
    return render(request, "web/accounts/signup.html", {"form": form})


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(_safe_next(request, next_url))
    form = forms.SigninForm(request.POST or None, initial={"next": next_url})
    unverified = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not _limited(request, form, accounts_api.SigninApi, {"email": data["email"]}):
            try:
                user = services.user_authenticate(email=data["email"], password=data["password"])
            except EmailNotVerified as exc:
                unverified = True
                form.add_service_error(exc)
            except DomainError as exc:
                form.add_service_error(exc)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome back, {user.name}.")
                return HttpResponseRedirect(_safe_next(request, data.get("next")))
    return render(request, "web/accounts/signin.html", {"form": form, "unverified": unverified})


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, "You are signed out. See you soon!")
    return redirect("web:home")


@require_http_methods(["GET", "POST"])
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a button: mail scanners open links, and must not use up the token.
    if request.method == "POST":
        try:
            user = services.user_verify_email(token=token)
        except DomainError as exc:
            return render(request, "web/accounts/verify_email.html", {"error": exc.detail}, status=400)
        messages.success(
            request, f"Thank you, {user.name}: your e-mail address is confirmed. Please sign in."
        )
        return redirect("web:signin")
    return render(request, "web/accounts/verify_email.html", {"token": token})


@require_http_methods(["GET", "POST"])
def resend_verification(request: HttpRequest) -> HttpResponse:
    form = forms.EmailForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if not _limited(request, form, accounts_api.ResendVerificationApi, {"email": email}):
            services.user_resend_verification(email=email)
            messages.success(request, RESEND_SENT)
            return redirect("web:signin")
    return render(request, "web/accounts/resend_verification.html", {"form": form})


@require_http_methods(["GET", "POST"])
def forgot_password(request: HttpRequest) -> HttpResponse:
    form = forms.EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if not _limited(request, form, accounts_api.PasswordForgotApi, {"email": email}):
            services.user_password_forgot(email=email)
            messages.success(request, FORGOT_SENT)
            return redirect("web:signin")
    return render(request, "web/accounts/forgot_password.html", {"form": form})


@sensitive_post_parameters("password", "password2")
@require_http_methods(["GET", "POST"])
def reset_password(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET" and tokens.password_reset_user(token) is None:
        return render(request, "web/accounts/reset_password.html", {"invalid": True}, status=400)
    form = forms.ResetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_password_reset(token=token, password=form.cleaned_data["password"])
        except DomainError as exc:
            form.add_service_error(exc)
        else:
            if request.user.is_authenticated:
                logout(request)
            messages.success(request, "Your password has been changed. Please sign in with the new one.")
            return redirect("web:signin")
    return render(request, "web/accounts/reset_password.html", {"form": form})


@sensitive_post_parameters("current_password", "new_password", "new_password2")
@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    profile_form = forms.ProfileForm(initial={"name": user.name})  # type: ignore[union-attr]
    password_form = forms.PasswordChangeForm()
    action = request.POST.get("action")
    if request.method == "POST" and action == "profile":
        profile_form = forms.ProfileForm(request.POST)
        if profile_form.is_valid():
            data = profile_form.cleaned_data
            bank_account = "" if data["remove_bank_account"] else (data["bank_account"] or None)
            try:
                services.user_update_profile(user=user, name=data["name"], bank_account=bank_account)  # type: ignore[arg-type]
            except DomainError as exc:
                profile_form.add_service_error(exc)
            else:
                messages.success(request, "Your profile is saved.")
                return redirect("web:profile")
    elif request.method == "POST" and action == "password":
        password_form = forms.PasswordChangeForm(request.POST)
        limited = _limited(request, password_form, accounts_api.PasswordChangeApi, {"email": user.email})  # type: ignore[union-attr]
        if not limited and password_form.is_valid():
            data = password_form.cleaned_data
            try:
                changed = services.user_password_change(
                    user=user,  # type: ignore[arg-type]
                    current_password=data["current_password"],
                    new_password=data["new_password"],
                    keep_session_key=request.session.session_key,
                )
            except InvalidCredentials as exc:
                password_form.add_error("current_password", exc.detail)
            except DomainError as exc:
                password_form.add_service_error(exc)
            else:
                update_session_auth_hash(request, changed)
                messages.success(request, "Your password is changed. Other devices were signed out.")
                return redirect("web:profile")
    elif request.method == "POST":
        messages.error(request, "Unknown action.")
        return redirect("web:profile")
    context = {"profile_form": profile_form, "password_form": password_form}
    return render(request, "web/accounts/profile.html", context)
