"""Adversarial user formulas against the cost model (surfaces/cost.py). Prints figures.

    python benchmarks/adversarial_formulas.py              # default run, under ~3 minutes
    python benchmarks/adversarial_formulas.py --measure-random 20 --repeat 3   # more, steadier
    python benchmarks/adversarial_formulas.py --budget 600   # what another budget would admit

Formulas come from two sources, both deterministic (--seed):

* worst-case constructions, one family each: power towers x^y^x^y..., nested functions
  sin(sin(...)), sin(x)^y towers, products of powers, long sums, nests that alternate
  functions, nested square roots and exponentials. For every family the benchmark takes
  the largest member the parser accepts (which the cost model should refuse) and the
  largest member the cost model accepts (the worst a user can get compiled);
* a random grammar over everything the parser accepts (every function, unary minus,
  powers with formula exponents), biased towards long, deep formulas near the limits.

Each formula is checked with the cost model; each accepted one is measured in a fresh
subprocess, after a warm-up with another formula (so JAX, XLA and the step-size tables are
loaded, as on a running server) and with cold caches for the formula itself: the time of
from_expression + critical_points + the Hessian eigen-decomposition at the start point + a
1,000-step Adam trace, and the process's peak-RSS growth over that.

Both the wall time and the process's CPU time (user + system) are printed, and formulas
are ranked by CPU time: on a shared 2-core machine the wall time of the same run varied
from 1x to 7x its CPU time with what else was running, while its CPU time varied by
about 1.5x. --repeat runs each measurement that many times (fresh processes) and keeps the
run with the least CPU time, since other jobs only ever add to it.

Prints each family's figures, the slowest accepted formula with its time and memory, and
how many formulas were refused by the parser and by the cost model. --budget tries another
budget than surfaces/cost.py's (the children then compile whatever the parent accepts).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from surfaces.cost import BUDGET, formula_cost  # noqa: E402
from surfaces.expression import (  # noqa: E402
    FUNCTIONS,
    MAX_LENGTH,
    ExpressionError,
    parse_expression,
)

WARM_UP = "x^2 + y^2"
REFERENCE = "x^2 + y^2 + 1"  # the cheapest kind of formula: the fixed cost of any formula


# ---------------------------------------------------------------------------------------
# Worst-case families: size n -> formula text.


def _join(parts: list[str], sep: str) -> str:
    return sep.join(parts)


FAMILIES: dict[str, Callable[[int], str]] = {
    "power tower x^y^x^y...": lambda n: _join(["x", "y"] * n, "^"),
    "nested sin(sin(...))": lambda n: "sin(" * n + "x" + ")" * n,
    "sin(x)^y tower": lambda n: _join(["sin(x)", "y"] * n, "^"),
    "product of powers": lambda n: _join([f"{'xy'[i % 2]}^{'yx'[i % 2]}" for i in range(n)], "*"),
    "product of sums of powers": lambda n: _join([f"(x^y + y^{i + 2})" for i in range(n)], "*"),
    "long sum of sin": lambda n: _join([f"sin({i + 1}*x + {n - i}*y)" for i in range(n)], " + "),
    "long sum of powers": lambda n: _join([f"(x + {i})^(y - {i})" for i in range(n)], " + "),
    "alternating nest": lambda n: "".join(
        ["sin(", "exp(", "tanh(", "cosh(", "log(2 + ", "arctan("][i % 6] for i in range(n)
    ) + "x*y" + ")" * n,
    "nested sqrt": lambda n: "sqrt(1 + " * n + "x^2 + y^2" + ")" * n,
    "nested power": lambda n: "(" * n + "x" + "".join(f"^y + {i % 9 + 1})" for i in range(n)),
    "tower of sums": lambda n: _join([f"({'xy'[i % 2]} + {i % 9 + 1})" for i in range(n)], "^"),
}


def parses(text: str) -> bool:
    try:
        parse_expression(text)
    except ExpressionError:
        return False
    return True


def cost_of(text: str) -> int:
    return formula_cost(parse_expression(text))


def largest(family: Callable[[int], str], accept: Callable[[str], bool], limit: int = 400) -> tuple[int, str] | None:
    """The largest n for which accept(family(n)) holds, scanning up from 1 (the checks are
    not monotone in every family near the parser's limits, so no bisection)."""
    best = None
    for n in range(1, limit):
        text = family(n)
        if len(text) > MAX_LENGTH:
            break
        if accept(text):
            best = (n, text)
    return best


# ---------------------------------------------------------------------------------------
# Random formulas from the grammar.

_UNARY = [name for name, (arity, _) in FUNCTIONS.items() if arity == 1]
_BINARY = [name for name, (arity, _) in FUNCTIONS.items() if arity == 2]


def random_formula(rng: random.Random, size: int) -> str:
    """A random formula of about `size` characters, biased to powers and nesting."""

    def leaf() -> str:
        return rng.choice(["x", "y", "x", "y", str(rng.randint(1, 9)), f"0.{rng.randint(1, 9)}", "pi"])

    def expr(room: int, depth: int) -> str:
        if room < 8 or depth > 30:
            return leaf()
        kind = rng.random()
        if kind < 0.25:
            op = rng.choice(["+", "-", "*", "/", "^", "^", "*"])
            left = rng.randint(3, room - 4)
            return f"({expr(left, depth + 1)}){op}({expr(room - left - 4, depth + 1)})"
        if kind < 0.55:
            func = rng.choice(_UNARY)
            return f"{func}({expr(room - len(func) - 2, depth + 1)})"
        if kind < 0.62:
            func = rng.choice(_BINARY)
            half = (room - len(func) - 3) // 2
            return f"{func}({expr(half, depth + 1)}, {expr(half, depth + 1)})"
        if kind < 0.80:
            return f"{leaf()}^{expr(room - 2, depth + 1)}"
        if kind < 0.90:
            return f"-{expr(room - 1, depth + 1)}"
        return f"{expr(room // 2, depth + 1)} + {expr(room // 2 - 3, depth + 1)}"

    return expr(size, 0)


# ---------------------------------------------------------------------------------------
# Measuring one formula in a fresh process.

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import optimizers, surfaces
import surfaces.cost
surfaces.cost.BUDGET = 10**9  # the parent decides what is accepted (--budget)

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def run(text):
    t0, c0 = time.perf_counter(), cpu()
    s = surfaces.from_expression(text)
    surfaces.critical_points(s)
    surfaces.eigen(s, s.starts[0])
    optimizers.trace(s, "adam", s.starts[0], 1000)
    return time.perf_counter() - t0, cpu() - c0

run(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
seconds, cpu_seconds = run(sys.argv[3])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "peak_mb": peak, "growth_mb": peak - before}))
"""


@dataclass
class Measured:
    seconds: float
    cpu: float
    peak_mb: float
    growth_mb: float


def measure(text: str, repeat: int, timeout: float) -> Measured | None:
    """The run with the least CPU time of `repeat` fresh-process runs (None if one timed
    out or failed)."""
    runs = []
    for _ in range(repeat):
        try:
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, ROOT, WARM_UP, text],
                capture_output=True, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None
        if done.returncode != 0:
            print(f"    child failed: {done.stderr.strip().splitlines()[-1:]}")
            return None
        runs.append(Measured(**json.loads(done.stdout.strip().splitlines()[-1])))
    return min(runs, key=lambda m: m.cpu)


def shorten(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--random", type=int, default=400, help="random formulas to generate (default 400)")
    parser.add_argument("--measure-random", type=int, default=3,
                        help="accepted random formulas to measure, the costliest first (default 4)")
    parser.add_argument("--repeat", type=int, default=1, help="fresh-process runs per formula, fastest kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per measurement")
    parser.add_argument("--budget", type=int, default=BUDGET, help=f"cost budget to test (default {BUDGET})")
    args = parser.parse_args()
    budget = args.budget
    started = time.perf_counter()
    rng = random.Random(args.seed)

    print(f"cost budget {budget}; every formula below passes the parser's limits "
          f"(<= {MAX_LENGTH} characters, 50 parentheses, depth 100)\n")
    reference = measure(REFERENCE, args.repeat, args.timeout)
    assert reference is not None
    print(f"reference {REFERENCE!r}: cost {cost_of(REFERENCE)}, {reference.seconds:.2f} s "
          f"(cpu {reference.cpu:.2f} s), +{reference.growth_mb:.0f} MB\n")

    accepted: list[tuple[str, str, int, Measured]] = []
    refused_by_parser = refused_by_cost = 0
    checked = 0
    print(f"{'family':28s} {'at the limits':>22s} {'largest accepted':>18s} {'wall s':>8s} {'cpu s':>6s} {'+MB':>5s}")
    for name, family in FAMILIES.items():
        biggest = largest(family, parses)
        worst = largest(family, lambda t: parses(t) and cost_of(t) <= budget)
        checked += 2
        limit_text = "-"
        if biggest is not None:
            limit_cost = cost_of(biggest[1])
            refused_by_cost += limit_cost > budget
            limit_text = f"n={biggest[0]} cost {limit_cost}" + (" REFUSED" if limit_cost > budget else "")
        else:
            refused_by_parser += 1
        if worst is None:
            print(f"{name:28s} {limit_text:>22s} {'none':>18s}")
            continue
        m = measure(worst[1], args.repeat, args.timeout)
        label = f"n={worst[0]} cost {cost_of(worst[1])}"
        if m is None:
            print(f"{name:28s} {limit_text:>22s} {label:>18s}  TIMEOUT/FAILED")
            continue
        accepted.append((name, worst[1], cost_of(worst[1]), m))
        print(f"{name:28s} {limit_text:>22s} {label:>18s} {m.seconds:8.2f} {m.cpu:6.2f} {m.growth_mb:5.0f}")

    random_accepted: list[tuple[int, str]] = []
    for _ in range(args.random):
        text = random_formula(rng, rng.randint(60, MAX_LENGTH))
        checked += 1
        if len(text) > MAX_LENGTH or not parses(text):
            refused_by_parser += 1
            continue
        c = cost_of(text)
        if c > budget:
            refused_by_cost += 1
        else:
            random_accepted.append((c, text))
    random_accepted.sort(reverse=True)
    print(f"\nrandom grammar: {args.random} formulas, {len(random_accepted)} accepted; "
          f"measuring the {min(args.measure_random, len(random_accepted))} costliest accepted")
    for c, text in random_accepted[: args.measure_random]:
        m = measure(text, args.repeat, args.timeout)
        if m is None:
            print(f"  cost {c:5d}  TIMEOUT/FAILED  {shorten(text)}")
            continue
        accepted.append(("random", text, c, m))
        print(f"  cost {c:5d} {m.seconds:6.2f} s cpu {m.cpu:5.2f} s {m.growth_mb:4.0f} MB  {shorten(text)}")

    print()
    if accepted:
        family, text, c, m = max(accepted, key=lambda a: a[3].cpu)
        print(f"slowest accepted (by CPU time): {shorten(text, 100)}")
        print(f"  ({family}, cost {c}): cpu {m.cpu:.2f} s, wall {m.seconds:.2f} s, "
              f"peak RSS {m.peak_mb:.0f} MB (+{m.growth_mb:.0f} MB over the warmed-up process); "
              f"{m.cpu / reference.cpu:.1f}x the reference formula's CPU time")
        walled = max(accepted, key=lambda a: a[3].seconds)
        print(f"  longest wall time: {walled[3].seconds:.2f} s ({walled[0]}, cost {walled[2]}, "
              f"cpu {walled[3].cpu:.2f} s)")
        heaviest = max(accepted, key=lambda a: a[3].growth_mb)
        print(f"  most memory: +{heaviest[3].growth_mb:.0f} MB ({heaviest[0]}, cost {heaviest[2]})")
    print(f"refused: {refused_by_parser} by the parser's limits, {refused_by_cost} by the cost model, "
          f"of {checked} formulas checked; {len(accepted)} accepted formulas measured")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
