from django.urls import path

from . import api

urlpatterns = [
    path("draws", api.DrawListApi.as_view()),
    path("draws/<str:date>", api.DrawDetailApi.as_view()),
    path("draws/<str:date>/winners", api.DrawWinnersApi.as_view()),
    path("draws/<str:date>/proof", api.DrawProofApi.as_view()),
    path("draws/<str:date>/ballots.txt", api.DrawBallotsTxtApi.as_view()),
    path("draws/<str:date>/close", api.DrawCloseApi.as_view()),
    path("ballots", api.BallotListApi.as_view()),
    path("ballots/purchase", api.BallotPurchaseApi.as_view()),
    path("ballots/<dbid:ballot_id>", api.BallotDetailApi.as_view()),
    path("ballots/<dbid:ballot_id>/assign", api.BallotAssignApi.as_view()),
    path("me/winnings", api.WinningsApi.as_view()),
    path("stats", api.StatsApi.as_view()),
]
