"""The pages' small helpers: masked IBANs, time left, chart geometry, same-origin paths."""

import datetime as dt

import pytest
from django.utils import timezone

from lottery.web.charts import bar_chart, nice_ceiling
from lottery.web.templatetags.web_extras import iban_masked, time_left
from lottery.web.views.draws import _same_origin_path


@pytest.mark.parametrize(
    ("iban", "masked"),
    [
        ("DE89370400440532013000", "DE89 •••• •••• •••• 3000"),
        ("DE89 3704 0044 0532 0130 00", "DE89 •••• •••• •••• 3000"),
        ("NL91ABNA0417164300", "NL91 •••• •••• 4300"),
        ("GB29NWBK60161331926819", "GB29 •••• •••• •••• 6819"),
        ("", ""),
        (None, ""),
        ("DE12", "DE••••"),
    ],
)
def test_iban_is_masked_to_country_check_digits_and_last_four(iban, masked):
    assert iban_masked(iban) == masked


def test_time_left_reads_naturally():
    now = timezone.now()
    assert time_left(None) == ""
    assert time_left(now - dt.timedelta(seconds=1)) == "closing now"
    assert time_left(now + dt.timedelta(seconds=30)) == "less than a minute"
    assert time_left(now + dt.timedelta(minutes=5, seconds=30)) == "5 min"
    assert time_left(now + dt.timedelta(hours=3, minutes=7, seconds=30)) == "3 h 07 min"
    assert time_left(now + dt.timedelta(days=2, hours=4, minutes=1)) == "2 d 4 h"


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (24, 25), (4100, 5000)]
)
def test_axis_maximum_is_a_round_number(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_bar_chart_scales_bars_to_the_axis_and_labels_the_newest_date():
    points = [(f"day {i}", f"{i:02d}", float(i)) for i in range(1, 31)]
    chart = bar_chart(points, format_value=lambda v: f"{v:.0f}")
    assert len(chart.bars) == 30
    tallest = chart.bars[-1]
    assert tallest.y + tallest.height == chart.baseline
    assert chart.ticks[-1].text == "50"  # 30 rounds up to 50
    assert chart.x_labels[-1].text == "30" and chart.x_labels[-1].anchor == "end"
    assert chart.x_labels[0].text == "01"
    assert all(b.x >= chart.left and b.x + b.width <= chart.right_edge for b in chart.bars)


def test_an_empty_chart_says_so():
    assert bar_chart([], format_value=str).empty


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/api/v1/draws/2026-01-01/proof", "/api/v1/draws/2026-01-01/proof"),
        ("//evil.example/x", None),
        ("https://evil.example/x", None),
        ("/\\evil.example", None),
        ("relative/path", None),
        ("", None),
        (None, None),
    ],
)
def test_only_paths_on_this_site_can_replace_the_proof_url(value, expected):
    assert _same_origin_path(value) == expected
