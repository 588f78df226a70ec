"""Output shapes of docs/api.md's Draw, Winner, Ballot and Proof (documented in the OpenAPI schema)."""

from rest_framework import serializers

from lottery.core.api import UTCDateTimeField


class PrizeSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    name = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    count = serializers.IntegerField()


class WinnerSerializer(serializers.Serializer):
    prize_rank = serializers.IntegerField()
    prize_name = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    ballot_id = serializers.IntegerField()
    winner_name = serializers.CharField()


class DrawSerializer(serializers.Serializer):
    date = serializers.DateField()
    type = serializers.CharField()
    status = serializers.ChoiceField(choices=["open", "drawing", "closed"])
    closes_at = UTCDateTimeField()
    closed_at = UTCDateTimeField(allow_null=True)
    ballot_count = serializers.IntegerField()
    prizes = PrizeSerializer(many=True)
    winners = WinnerSerializer(many=True)
    commitment = serializers.CharField()


class DrawWinnersSerializer(serializers.Serializer):
    date = serializers.DateField()
    status = serializers.ChoiceField(choices=["open", "drawing", "closed"])
    winners = WinnerSerializer(many=True)


class ProofBeaconSerializer(serializers.Serializer):
    source = serializers.CharField()  # type: ignore[assignment]  # the API's name; shadows Field.source
    chain = serializers.CharField()
    round = serializers.IntegerField()
    randomness = serializers.CharField(required=False)
    signature = serializers.CharField(required=False)


class ProofWinnerSerializer(serializers.Serializer):
    slot = serializers.IntegerField()
    prize_rank = serializers.IntegerField()
    ballot_id = serializers.IntegerField()
    index = serializers.IntegerField()
    counter = serializers.IntegerField()


class ProofSerializer(serializers.Serializer):
    algorithm = serializers.CharField()
    date = serializers.DateField()
    status = serializers.ChoiceField(choices=["open", "drawing", "closed"])
    commitment = serializers.CharField()
    seed = serializers.CharField(allow_null=True)
    prizes = PrizeSerializer(many=True)
    ballot_count = serializers.IntegerField(allow_null=True)
    ballot_digest = serializers.CharField(allow_null=True)
    closes_at = serializers.CharField()
    closed_at = serializers.CharField(allow_null=True)
    beacon = ProofBeaconSerializer(allow_null=True)
    winners = ProofWinnerSerializer(many=True, allow_null=True)


class BallotPrizeSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    name = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()


class BallotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    draw = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=["unassigned", "assigned", "won", "lost"])
    prize = BallotPrizeSerializer(allow_null=True)
    purchased_at = UTCDateTimeField()


class ReceiptSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    quantity = serializers.IntegerField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    ballots = BallotSerializer(many=True)


class WinSerializer(serializers.Serializer):
    draw = serializers.DateField()
    prize_name = serializers.CharField()
    amount = serializers.IntegerField()
    ballot_id = serializers.IntegerField()


class WinningsSerializer(serializers.Serializer):
    total_amount = serializers.IntegerField()
    currency = serializers.CharField()
    wins = WinSerializer(many=True)


class RecentWinnersSerializer(serializers.Serializer):
    date = serializers.DateField()
    winners = WinnerSerializer(many=True)


class StatsSerializer(serializers.Serializer):
    draws_total = serializers.IntegerField()
    draws_open = serializers.IntegerField()
    draws_closed = serializers.IntegerField()
    ballots_total = serializers.IntegerField()
    prizes_awarded = serializers.IntegerField()
    amount_awarded = serializers.IntegerField()
    currency = serializers.CharField()
    recent_winners = RecentWinnersSerializer(many=True)
