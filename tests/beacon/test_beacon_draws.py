"""The beacon path of docs/fairness.md against a drand-compatible server on loopback (real HTTP).

The loopback chain is not a League of Entropy chain: each verification names it as trusted."""

import contextlib
import datetime as dt
import hashlib
from http.server import BaseHTTPRequestHandler

import pytest
from django.utils import timezone

from lottery import fairness, verifier
from lottery.beacon_chains import SHIPPED_CHAINS
from lottery.draws import beacon, services
from lottery.draws.ballot_list import ballot_txt_pages
from lottery.draws.beacon import BeaconError, BeaconRoundNotYet
from lottery.draws.calendar import lottery_date
from lottery.draws.errors import DrawClosed
from lottery.draws.models import Draw
from lottery.draws.selectors import draw_get, draw_proof
from lottery.payments.gateway import Card
from tests.beacon.drand_server import CHAIN, GENESIS, PERIOD, TRUST_SPEC, TRUSTED, DrandServer
from tests.clocks import at
from tests.factories import DrawTypeFactory, UserFactory, make_ballots
from tests.loopback_http import serving

pytestmark = pytest.mark.django_db


@pytest.fixture
def drand(settings):
    server = DrandServer().start()
    settings.LOTTERY_BEACON_URL = server.url
    settings.LOTTERY_BEACON_CHAIN = CHAIN
    yield server
    server.stop()


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def beacon_draw(drand, now):
    DrawTypeFactory()
    services.draws_ensure_upcoming(now=now, days=0)
    return Draw.objects.get(date=lottery_date(now))


def planned_round(draw):
    return fairness.beacon_planned_round(
        genesis_time=GENESIS, period=PERIOD, closes_at=int(draw.closes_at.timestamp())
    )


def frozen(draw, now, ballots=12):
    make_ballots(UserFactory(), ballots, draw=draw)
    return services.draw_close(draw_id=draw.pk, clock=at(now))


def test_the_plan_is_fixed_at_creation_and_published_with_the_commitment(beacon_draw, drand):
    assert beacon_draw.beacon_source == drand.url
    assert beacon_draw.beacon_chain == CHAIN
    assert beacon_draw.beacon_round == planned_round(beacon_draw)
    due = GENESIS + (beacon_draw.beacon_round - 1) * PERIOD
    assert beacon_draw.closes_at.timestamp() + 30 <= due < beacon_draw.closes_at.timestamp() + 30 + PERIOD
    proof = draw_proof(draw_get(date=beacon_draw.date))
    assert proof["beacon"] == {"source": drand.url, "chain": CHAIN, "round": beacon_draw.beacon_round}
    assert proof["seed"] is None and proof["winners"] is None


def test_no_draw_is_created_while_the_beacon_info_is_unreachable(drand, now):
    DrawTypeFactory()
    drand.down = True
    assert services.draws_ensure_upcoming(now=now) == []
    assert not Draw.objects.exists()
    drand.down = False
    assert len(services.draws_ensure_upcoming(now=now)) == 8
    assert not Draw.objects.filter(beacon_round__isnull=True).exists()


def test_close_freezes_into_drawing_and_waits_for_the_round(beacon_draw, drand, now):
    draw = frozen(beacon_draw, now)
    assert draw.status == "drawing" and draw.ballot_count == 12 and draw.closed_at == now
    with pytest.raises(DrawClosed):
        services.ballot_purchase(
            user=UserFactory(),
            quantity=1,
            draw_date=draw.date,
            clock=at(now),
            card=Card("4242424242424242", 12, 2099, "123"),
        )
    proof = draw_proof(draw_get(date=draw.date))
    assert proof["status"] == "drawing" and proof["seed"] is None and proof["winners"] is None
    assert proof["ballot_count"] == 12 and proof["ballot_digest"] == draw.ballot_digest
    with pytest.raises(BeaconRoundNotYet):
        services.draw_with_beacon(draw_id=draw.pk, now=now)
    assert services.draws_draw_pending(now=now) == []
    assert Draw.objects.get(pk=draw.pk).status == "drawing"
    assert services.draw_close(draw_id=draw.pk, clock=at(now)).status == "drawing"  # idempotent


def test_draws_as_soon_as_the_round_is_published_and_the_proof_verifies(
    beacon_draw, drand, now, delivered_mail
):
    draw = frozen(beacon_draw, now)
    drand.publish_until(draw.beacon_round)
    [closed] = services.draws_draw_pending(now=now)
    assert closed.status == "closed"
    published = drand.answer(f"/{CHAIN}/public/{draw.beacon_round}")[1]
    assert closed.beacon_randomness == published["randomness"]
    ballots = b"".join(ballot_txt_pages(draw.pk))
    proof = draw_proof(draw_get(date=draw.date))
    assert proof["beacon"]["randomness"] == published["randomness"]
    assert proof["beacon"]["signature"] == published["signature"]
    expected = fairness.draw_winners(
        seed=bytes.fromhex(proof["seed"]),
        date=proof["date"],
        ballot_ids=fairness.parse_ballots_txt(ballots),
        beacon=published["randomness"],
        prizes=proof["prizes"],
    )
    assert [w["ballot_id"] for w in proof["winners"]] == [w.ballot_id for w in expected]
    checks = verifier.verify_proof(proof, ballots, trust_chains=[TRUSTED])
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert "BLS signature verified" in next(c.detail for c in checks if c.name == "beacon")
    assert next(c for c in checks if c.name == "beacon_round").ok
    untrusted = verifier.verify_proof(proof, ballots)
    assert failing(untrusted)[0] == "beacon"
    assert f"chain {CHAIN} not trusted" in next(c.detail for c in untrusted if c.name == "beacon")
    assert len(delivered_mail()) == len(proof["winners"])
    assert services.draws_draw_pending(now=now) == []  # run twice: one effect


def test_beacon_down_after_the_freeze_loses_nothing(beacon_draw, drand, now):
    draw = frozen(beacon_draw, now)
    drand.publish_until(draw.beacon_round)
    drand.down = True
    assert services.draws_draw_pending(now=now) == []
    assert Draw.objects.get(pk=draw.pk).status == "drawing"
    assert Draw.objects.get(pk=draw.pk).ballot_count == 12
    drand.down = False
    assert services.draws_draw_pending(now=now)[0].status == "closed"


def test_a_round_whose_randomness_is_not_the_hash_of_its_signature_is_rejected(beacon_draw, drand, now):
    draw = frozen(beacon_draw, now)
    drand.publish_until(draw.beacon_round)
    drand.tamper = True
    with pytest.raises(BeaconError, match="not SHA-256"):
        services.draw_with_beacon(draw_id=draw.pk, now=now)
    assert Draw.objects.get(pk=draw.pk).status == "drawing"
    assert not Draw.objects.get(pk=draw.pk).winners.exists()


def test_a_round_signed_with_another_key_is_never_drawn_with(beacon_draw, drand, now):
    draw = frozen(beacon_draw, now)
    drand.publish_until(draw.beacon_round)
    drand.forge = True  # randomness is SHA-256 of the signature, but not the chain's key signed it
    with pytest.raises(BeaconError, match="does not verify against the chain's key"):
        services.draw_with_beacon(draw_id=draw.pk, now=now)
    assert Draw.objects.get(pk=draw.pk).status == "drawing"
    drand.forge = False
    assert services.draws_draw_pending(now=now)[0].status == "closed"


@pytest.mark.parametrize(
    ("chain", "scheme", "reason"),
    [
        # A relay posing as the League of Entropy's default chain, with its own key.
        (SHIPPED_CHAINS[0].hash, SHIPPED_CHAINS[0].scheme, "other parameters for chain default"),
        (CHAIN, "bls-bn254-unchained-on-g1", "cannot be verified"),
    ],
)
def test_no_draw_is_planned_on_a_chain_verifiers_would_reject(settings, now, chain, scheme, reason):
    server = DrandServer(chain=chain, scheme=scheme).start()
    settings.LOTTERY_BEACON_URL = server.url
    settings.LOTTERY_BEACON_CHAIN = chain
    try:
        with pytest.raises(BeaconError, match=reason):
            beacon.chain_info()
        DrawTypeFactory()
        assert services.draws_ensure_upcoming(now=now) == []
    finally:
        server.stop()
    assert not Draw.objects.exists()


def test_a_relay_flooding_its_answer_is_a_beacon_error(settings):
    class Flood(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            with contextlib.suppress(OSError):
                while True:
                    self.wfile.write(b" " * 65536)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Flood) as url, pytest.raises(BeaconError, match="longer than 65536 bytes"):
        beacon.chain_info(source=url, chain=CHAIN)


@pytest.fixture
def beacon_proof(beacon_draw, drand, now):
    draw = frozen(beacon_draw, now)
    drand.publish_until(draw.beacon_round + 1)
    services.draws_draw_pending(now=now)
    return draw_proof(draw_get(date=draw.date)), b"".join(ballot_txt_pages(draw.pk))


def failing(checks):
    return [c.name for c in checks if not c.ok]


def test_verifier_catches_each_beacon_tampering(beacon_proof, drand):
    proof, ballots = beacon_proof

    def failures(tampered):
        return failing(verifier.verify_proof(tampered, ballots, trust_chains=[TRUSTED]))

    assert failures(proof) == []
    later = dict(drand.answer(f"/{CHAIN}/public/{proof['beacon']['round'] + 1}")[1])
    assert failures({**proof, "beacon": {**proof["beacon"], **later}})[0] == "beacon_round"
    bad_randomness = {**proof, "beacon": {**proof["beacon"], "randomness": hashlib.sha256(b"x").hexdigest()}}
    assert failures(bad_randomness)[0] == "beacon"
    assert failures({**proof, "closes_at": "2099-01-01T00:00:00Z"}) == ["closes_at", "beacon_round"]
    forged = {
        **proof["beacon"],
        "signature": later["signature"],
        "randomness": hashlib.sha256(bytes.fromhex(later["signature"])).hexdigest(),
    }
    checks = verifier.verify_proof({**proof, "beacon": forged}, ballots, trust_chains=[TRUSTED])
    assert failing(checks)[0] == "beacon"
    assert "does NOT verify" in next(c.detail for c in checks if c.name == "beacon")


@pytest.mark.django_db(transaction=True)
def test_lottery_verify_passes_against_the_live_service(live_server, settings, capsys):
    server = DrandServer().start()
    settings.LOTTERY_BEACON_URL = server.url
    settings.LOTTERY_BEACON_CHAIN = CHAIN
    try:
        now = timezone.now()
        DrawTypeFactory()
        services.draws_ensure_upcoming(now=now, days=0)
        draw = frozen(Draw.objects.get(date=lottery_date(now)), now, ballots=5)
        server.publish_until(draw.beacon_round)
        services.draws_draw_pending(now=now + dt.timedelta(minutes=1))
        served = len(server.requests)
        untrusted = verifier.main([str(draw.date), "--url", live_server.url])
        untrusted_out = capsys.readouterr().out
        code = verifier.main([str(draw.date), "--url", live_server.url, "--trust-chain", TRUST_SPEC])
    finally:
        server.stop()
    out = capsys.readouterr().out
    assert untrusted == 1 and untrusted_out.splitlines()[-1] == "Check failed: beacon", untrusted_out
    assert "not trusted" in untrusted_out
    assert code == 0, out
    assert "All checks passed" in out
    assert "BLS signature verified" in out
    assert "PASS beacon_round" in out
    # An unchained round needs nothing from the beacon: the verifier never asked the operator's /info.
    assert server.requests[served:] == []
