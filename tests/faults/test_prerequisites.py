"""The fault tests skip (or, under CI, fail) with a reason when their prerequisites are missing."""

import pytest

from tests.harness import HarnessError

from .common import fault_prerequisites


def test_skip_reason_without_services():
    assert "DATABASE_URL" in fault_prerequisites({})


def test_fail_under_ci_when_set_but_unreachable():
    unreachable = {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/x", "REDIS_URL": "redis://127.0.0.1:1/0"}
    assert "not reachable" in fault_prerequisites(unreachable)
    with pytest.raises(HarnessError, match="CI sets"):
        fault_prerequisites({**unreachable, "CI": "true"})
