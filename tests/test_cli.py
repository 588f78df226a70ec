import datetime as dt
from importlib.metadata import version

import pytest
from django.utils import timezone

import lottery
from lottery import cli
from lottery.draws.calendar import lottery_date
from lottery.draws.models import Draw, DrawType
from tests.factories import DrawTypeFactory, make_draw

pytestmark = pytest.mark.django_db


def test_seed_draw_types_is_idempotent(capsys):
    assert cli.main(["seed-draw-types"]) == 0
    assert cli.main(["seed-draw-types"]) == 0
    assert DrawType.objects.count() == 3
    assert "created 0 draw type(s)" in capsys.readouterr().out


def test_seed_demo_creates_accounts_once(capsys):
    assert cli.main(["seed-demo"]) == 0
    assert cli.main(["seed-demo"]) == 0
    out = capsys.readouterr().out
    assert out.count("(created)") == 2
    assert "admin@example.com" in out


def test_close_command(capsys):
    draw = make_draw(lottery_date(timezone.now()), draw_type=DrawTypeFactory())
    assert cli.main(["close", str(draw.date)]) == 0
    assert Draw.objects.get(pk=draw.pk).status == "closed"
    assert cli.main(["close", str(draw.date + dt.timedelta(days=90))]) == 1
    assert "no draw" in capsys.readouterr().err.lower()


def test_usage_error_exits_2():
    with pytest.raises(SystemExit) as exc:
        cli.main(["close", "not-a-date"])
    assert exc.value.code == 2


def test_one_version_string_for_the_package_the_command_and_the_api(capsys, settings):
    assert lottery.__version__ == version("lottery")
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"lottery {lottery.__version__}"
    assert settings.SPECTACULAR_SETTINGS["VERSION"] == lottery.__version__
