"""experiments.schema: URL round trips, junk as notices, groups that keep every choice."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from experiments.common import CUSTOM, Hypers, ScheduleChoice, SurfaceChoice
from experiments.schema import Field, Notice, Settings, group, parse_query, setting


@dataclass(frozen=True)
class Demo(Settings):
    surface: SurfaceChoice = group(SurfaceChoice, default="himmelblau")
    hypers: Hypers = group(Hypers, learning_rates={"adam": 0.05})
    schedule: ScheduleChoice = group(ScheduleChoice)
    steps: int = setting(500, "int", 1, 10_000)
    opts: tuple[str, ...] = setting(("gd", "adam"), "multi", choices=("gd", "adam", "rmsprop"))
    points: int = setting(200, "int", 20, 5000, key="c.points")
    x0: float | None = setting(None, "float", -10, 10)
    y0: float | None = setting(None, "float", -10, 10)


def test_defaults_come_from_the_declaration():
    d = Demo()
    assert d.surface.key == "himmelblau" and d.hypers.of("adam")["learning_rate"] == 0.05
    assert d.schedule.config().kind == "constant" and d.steps == 500 and d.opts == ("gd", "adam")
    assert d.to_query() == {}


def test_query_round_trip_keeps_every_value():
    d = Demo().replace(**{"c.points": 300, "adam.b1": 0.8, "surface": CUSTOM, "expr": "x^2+y^2",
                          "opts": ("rmsprop",), "sched": "cosine", "x0": 1.5, "y0": -2.0})
    q = d.to_query()
    assert q["c.points"] == "300" and q["opts"] == "rmsprop" and q["x0"] == "1.5"
    back, notices = Demo.from_query(q)
    assert back == d and notices == []
    assert back.surface.build().expression and back.schedule.config().kind == "cosine"


def test_junk_becomes_notices_and_defaults():
    s, notices = Demo.from_query({"steps": ["abc", "10"], "c.points": "99999", "x0": "1", "nope": "1",
                                  "opts": "gd,evil"})
    assert s.steps == 10 and s.points == 5000 and s.x0 is None and s.opts == ("gd", "adam")
    keys = [n.key for n in notices]
    assert keys == ["url.repeated", "url.above", "url.ignored", "url.half_point", "url.unknown"]
    assert notices[2].params["reason"] == "unknown_items" and notices[2].params["items"] == ["evil"]


def test_check_names_out_of_range_values():
    bad = Demo.from_values({**Demo().values(), "steps": 0})
    assert bad.check() == [Notice("url.below", {"key": "steps", "value": "0", "used": "1"})]
    assert Demo().check() == []


def test_parse_query_refuses_non_finite_and_long_values():
    f = [Field("a", 1.0), Field("b", 1, "int")]
    given, notices = parse_query(f, {"a": "inf", "b": "1.5"})
    assert given == {} and [n.params["reason"] for n in notices] == ["not_finite", "not_whole"]


def test_duplicate_keys_are_refused():
    @dataclass(frozen=True)
    class Twice(Settings):
        a: int = setting(1, "int", key="k")
        b: int = setting(2, "int", key="k")

    with pytest.raises(TypeError):
        Twice.schema()
