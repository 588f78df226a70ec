"""Schemathesis against our own OpenAPI schema (P6 hostile input), in-process over WSGI.

Every operation of `/api/schema` is fuzzed anonymously and as a signed-in player who owns
ballots in every state; a stateful run follows the links between operations. Checks: no
5xx, documented status codes, response bodies (problem+json errors included) and content
types as the schema says. `make test` runs a bounded, derandomized run; `make fuzz` a long
one (SCHEMATHESIS_MAX_EXAMPLES).
"""

import os
import re
from collections import Counter
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.hostile.conftest import OPERATOR_TOKEN

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20260610"))
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(?P<offset>Z|[+-]\d{2}:\d{2})?$")


def datetimes_are_utc(ctx: Any, response: Any, case: Any) -> None:
    """docs/api.md: every datetime is ISO 8601 with an offset, in UTC (a format the schema can't say)."""
    if not response.headers.get("content-type", [""])[0].startswith("application/json"):
        return

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")
        elif isinstance(value, str) and (match := ISO_DATETIME.match(value)):
            assert match["offset"] in ("Z", "+00:00"), f"{where} = {value!r} is not in UTC"

    walk(response.json(), "$")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    datetimes_are_utc,
]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema", application, config=CONFIG)

# Real identifiers of the current test's world, so some generated requests hit existing
# ballots, draws and users instead of 404ing on random ones (filled by the `known` fixture).
KNOWN: dict[str, list[Any]] = {"date": [], "ballot_id": [], "user_id": []}
TALLY: Counter[str] = Counter()
GOOD_PAYMENT = {"card_number": "4242 4242 4242 4242", "expiry_month": 12, "expiry_year": 2099, "cvc": "123"}


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    choices = [st.just(path_parameters)]
    if not isinstance(path_parameters, dict):
        return choices[0]
    for name in path_parameters:
        if KNOWN.get(name):
            choices.append(st.sampled_from(KNOWN[name]).map(lambda v, n=name: {**path_parameters, n: v}))
    return st.one_of(choices)


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    if not isinstance(body, dict):
        return st.just(body)
    choices = [st.just(body)]
    if "draw" in body and KNOWN["date"]:
        choices.append(st.sampled_from(KNOWN["date"]).map(lambda d: {**body, "draw": d}))
    if "payment" in body:
        choices.append(st.just({**body, "payment": GOOD_PAYMENT}))
    return st.one_of(choices)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Requests go straight to the WSGI app, not through Django's test client, so do what the
    test client does: don't let request_started/finished close the connection, which would
    end the test's transaction (a no-op on in-memory SQLite, fatal on PostgreSQL)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def known(world):
    KNOWN["date"] = [d.isoformat() for d in (world.today, world.later_draw.date, world.closed_draw.date)]
    KNOWN["ballot_id"] = [b.pk for bs in world.player_ballots.values() for b in bs] + world.victim_ballot_ids
    KNOWN["user_id"] = [world.player.pk, world.victim.pk]
    yield world
    for values in KNOWN.values():
        values.clear()


def call(case: Any, headers: dict[str, str] | None = None) -> None:
    """Send one generated request and run the checks, rolled back afterwards so that every
    example meets the same world (and a replayed example sees what it saw the first time)."""
    cache.clear()  # rate-limit counters: a 429 is documented, but it would hide everything else
    outcome = "FAILED"
    try:
        with transaction.atomic():
            try:
                response = case.call_and_validate(headers=headers, checks=CHECKS)
                outcome = str(response.status_code)
            finally:
                transaction.set_rollback(True)
    finally:
        TALLY[f"{case.operation.label} {outcome}"] += 1


@pytest.fixture(scope="module", autouse=True)
def _report():
    """The figures for docs/reliability.md: printed with -s, written to $SCHEMATHESIS_REPORT."""
    TALLY.clear()
    yield
    by_status = Counter(key.rsplit(" ", 1)[1] for key in TALLY.elements())
    lines = [
        f"schemathesis {schemathesis.__version__}, seed {SEED}, max examples {MAX_EXAMPLES}",
        f"operations in the schema: {len(list(schema.get_all_operations()))}",
        f"requests: {sum(TALLY.values())}",
        "by status: " + ", ".join(f"{status}: {n}" for status, n in sorted(by_status.items())),
        "5xx: " + str(sum(n for status, n in by_status.items() if status.startswith("5"))),
        *(f"{count:6d}  {key}" for key, count in sorted(TALLY.items())),
    ]
    print("\n".join(lines))
    if path := os.environ.get("SCHEMATHESIS_REPORT"):
        with open(path, "w", encoding="utf-8") as report:
            report.write("\n".join(lines) + "\n")


# What an anonymous client may carry: nothing, or credentials that are wrong in every way
# (schemathesis only invents them where the schema says signing in is required).
ANONYMOUS_HEADERS = [
    {},
    {"Authorization": "Bearer not-a-token"},
    {"Authorization": "Bearer " + "f" * 64},
    {"Authorization": "Bearer"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"X-Operator-Token": "wrong-operator-token"},
    {"X-Operator-Token": OPERATOR_TOKEN},
    {"Cookie": "sessionid=forged; csrftoken=forged"},
]


@schema.parametrize()
@schema.given(extra_headers=st.sampled_from(ANONYMOUS_HEADERS))
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_anonymously(case, extra_headers, known):
    call(case, headers=extra_headers or None)


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_as_a_player_with_ballots(case, known):
    token = known.token(known.player)
    call(case, headers={"Authorization": f"Bearer {token}"})


def test_stateful_links_as_a_player(known):
    """Follow the links schemathesis infers from the schema (purchase → ballot → assign,
    draws → close → proof/winners/ballots.txt, ...) as the signed-in player."""

    class Workflow(schema.as_state_machine()):
        # Each scenario starts from the same world and is rolled back after, so a replayed
        # scenario (shrinking, the final report) sees exactly what it saw the first time.
        def setup(self):
            self._savepoint = transaction.atomic()
            self._savepoint.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self._savepoint.__exit__(None, None, None)

        def before_call(self, case):
            cache.clear()
            token = known.token(known.player)
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

        def after_call(self, response, case):
            super().after_call(response, case)
            TALLY[f"stateful {case.operation.label} {response.status_code}"] += 1

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    Workflow.run(
        settings=settings(
            Workflow.TestCase.settings,
            max_examples=MAX_EXAMPLES,
            stateful_step_count=6,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
