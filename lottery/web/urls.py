"""Page URLs (docs/api.md): stable, because e-mails, proofs and bookmarks link to them."""

import datetime as dt

from django.urls import path, register_converter

from .views import accounts, ballots, draws


class IsoDateConverter:
    """`YYYY-MM-DD` → date; anything else (including 2026-02-30) is simply no match: a 404."""

    regex = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def to_python(self, value: str) -> dt.date:
        return dt.date.fromisoformat(value)  # ValueError → no match

    def to_url(self, value: dt.date | str) -> str:
        return value.isoformat() if isinstance(value, dt.date) else value


register_converter(IsoDateConverter, "isodate")

app_name = "web"

urlpatterns = [
    path("", draws.home, name="home"),
    # accounts
    path("signup", accounts.signup, name="signup"),
    path("signin", accounts.signin, name="signin"),
    path("signout", accounts.signout, name="signout"),
    path("verify-email/<str:token>", accounts.verify_email, name="verify-email"),
    path("resend-verification", accounts.resend_verification, name="resend-verification"),
    path("forgot-password", accounts.forgot_password, name="forgot-password"),
    path("reset-password/<str:token>", accounts.reset_password, name="reset-password"),
    path("profile", accounts.profile, name="profile"),
    # ballots
    path("ballots", ballots.ballots, name="ballots"),
    path("ballots/buy", ballots.ballots_buy, name="ballots-buy"),
    path("ballots/<dbid:ballot_id>/assign", ballots.ballot_assign, name="ballot-assign"),
    path("winnings", ballots.winnings, name="winnings"),
    # draws
    path("draws", draws.draws_open, name="draws"),
    path("draws/closed", draws.draws_closed, name="draws-closed"),
    path("draws/<isodate:date>", draws.draw_detail, name="draw"),
    path("draws/<isodate:date>/verify", draws.draw_verify, name="draw-verify"),
    path("stats", draws.stats, name="stats"),
]
