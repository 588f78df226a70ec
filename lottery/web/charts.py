"""Server-rendered SVG bar charts: geometry only, no data access and no styling (CSS does it)."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 960
HEIGHT = 280
LEFT = 76  # room for the value axis labels
RIGHT = 16
TOP = 14
BOTTOM = 40  # room for the date labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value_text: str


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class XLabel:
    x: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right_edge: int
    baseline: float
    axis_x: int
    label_y: float
    bars: list[Bar]
    ticks: list[Tick]
    x_labels: list[XLabel]

    @property
    def empty(self) -> bool:
        return not self.bars


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times 10^k that is at least `value` (axis maximum)."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)  # pragma: no cover - the loop always returns


def bar_chart(
    points: Sequence[tuple[str, str, float]],
    *,
    format_value: Callable[[float], str],
    ticks: int = 4,
) -> BarChart:
    """Bars for (label, short label, value) points, oldest first; every few short labels shown."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    top_value = nice_ceiling(max((v for _, _, v in points), default=0))
    slot = plot_width / max(len(points), 1)
    bar_width = max(slot * 0.7, 1.0)
    bars = []
    for i, (label, _short, value) in enumerate(points):
        height = plot_height * value / top_value
        bars.append(
            Bar(
                x=round(LEFT + i * slot + (slot - bar_width) / 2, 2),
                y=round(baseline - height, 2),
                width=round(bar_width, 2),
                height=round(height, 2),
                label=label,
                value_text=format_value(value),
            )
        )
    tick_marks = [
        Tick(y=round(baseline - plot_height * k / ticks, 2), text=format_value(top_value * k / ticks))
        for k in range(ticks + 1)
    ]
    # About six date labels: every few bars, plus the newest one, right-aligned so it never
    # runs off the edge; a regular label too close to it is left out.
    every = max(1, math.ceil(len(points) / 6))
    last = len(points) - 1
    x_labels = []
    for i, (_label, short, _value) in enumerate(points):
        centre = LEFT + i * slot + slot / 2
        if i == last:
            x_labels.append(XLabel(x=round(centre + bar_width / 2, 2), text=short, anchor="end"))
        elif i % every == 0 and last - i >= every / 2:
            x_labels.append(XLabel(x=round(centre, 2), text=short))
    return BarChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right_edge=WIDTH - RIGHT,
        baseline=baseline,
        axis_x=LEFT - 8,
        label_y=baseline + 24,
        bars=bars,
        ticks=tick_marks,
        x_labels=x_labels,
    )
