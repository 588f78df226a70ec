"""/metrics from outside the cluster (P8): the business counters are for the scraper only.

Requests over WSGI with the addresses they would arrive from: straight from the Internet, from
the Internet through the ingress controller (whose pod is inside the cluster, so it adds
X-Forwarded-For), and from a Prometheus pod. The Ingress that routes only the public paths
is checked in tests/deploy.
"""

from typing import Any

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

OUTSIDE = "203.0.113.7"
INGRESS_POD = "10.42.0.17"
PROMETHEUS_POD = "10.42.3.9"
TOKEN = "a-long-random-metrics-token"


def scrape(remote: str, method: str = "GET", **headers: Any) -> Any:
    return Client().generic(method, "/metrics", REMOTE_ADDR=remote, **headers)


def assert_refused(response: Any) -> None:
    assert response.status_code == 404
    assert b"lottery_" not in response.content
    assert response["Content-Type"].startswith("text/html")  # the site's ordinary 404 page


def assert_served(response: Any) -> None:
    assert response.status_code == 200
    assert b"lottery_draws_overdue" in response.content


@pytest.mark.parametrize(
    ("remote", "headers"),
    [
        pytest.param(OUTSIDE, {}, id="straight-from-outside"),
        pytest.param(INGRESS_POD, {"HTTP_X_FORWARDED_FOR": OUTSIDE}, id="through-the-ingress"),
        pytest.param(INGRESS_POD, {"HTTP_X_REAL_IP": OUTSIDE}, id="through-a-proxy-x-real-ip"),
        pytest.param(INGRESS_POD, {"HTTP_FORWARDED": f"for={OUTSIDE}"}, id="through-a-proxy-forwarded"),
        pytest.param(OUTSIDE, {"HTTP_X_FORWARDED_FOR": PROMETHEUS_POD}, id="spoofed-inside-address"),
        pytest.param(f"::ffff:{OUTSIDE}", {}, id="ipv4-mapped-outside"),
        pytest.param("2001:db8::1", {}, id="ipv6-outside"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_metrics_are_not_served_to_outsiders(remote: str, headers: dict[str, str], method: str) -> None:
    response = scrape(remote, method, **headers)
    assert response.status_code == 404
    assert b"lottery_" not in response.content


def test_the_refusal_is_the_ordinary_404_page() -> None:
    assert_refused(scrape(OUTSIDE))
    assert_refused(scrape(OUTSIDE, HTTP_AUTHORIZATION="Bearer guess"))


@pytest.mark.parametrize(
    "remote", [PROMETHEUS_POD, "127.0.0.1", "::1", f"::ffff:{PROMETHEUS_POD}", "172.18.0.5"]
)
def test_a_scraper_inside_the_cluster_reads_them(remote: str) -> None:
    assert_served(scrape(remote))


@override_settings(LOTTERY_METRICS_TOKEN=TOKEN)
def test_the_token_opens_them_from_anywhere_and_a_wrong_one_does_not() -> None:
    assert_served(scrape(OUTSIDE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))
    assert_served(scrape(INGRESS_POD, HTTP_AUTHORIZATION=f"bearer {TOKEN}", HTTP_X_FORWARDED_FOR=OUTSIDE))
    for wrong in [f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer ", ""]:
        assert_refused(scrape(OUTSIDE, HTTP_AUTHORIZATION=wrong))


@override_settings(LOTTERY_METRICS_TOKEN="", LOTTERY_METRICS_NETWORKS=())
def test_an_empty_token_setting_is_no_token() -> None:
    assert_refused(scrape("127.0.0.1", HTTP_AUTHORIZATION="Bearer "))


@override_settings(LOTTERY_METRICS_TOKEN=TOKEN, LOTTERY_METRICS_NETWORKS=())
def test_with_no_allowed_networks_only_the_token_opens_them() -> None:
    assert_refused(scrape("127.0.0.1"))
    assert_refused(scrape(PROMETHEUS_POD))
    assert_served(scrape(PROMETHEUS_POD, HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))
