"""Safe user formulas: hostile input is refused without side effects, valid input matches
hand-written NumPy formulas and hand-derived gradients, and surfaces are cached boundedly."""
from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import os
import string
import subprocess
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surfaces import expression
from surfaces.base import Surface
from surfaces.expression import (
    ExpressionError,
    compile_expression,
    from_expression,
    parse_expression,
    to_latex,
    to_text,
)

# (text, substring the message must contain, expected column or None)
HOSTILE: list[tuple[str, str, int | None]] = [
    ("__import__('os').system('id')", "names starting with '_' are not allowed", 1),
    ("().__class__", "empty parentheses", 1),
    ("x.__class__", "attribute access ('.') is not allowed", 2),
    ("(x).real", "attribute access", 4),
    ("lambda: 1", "keyword 'lambda' is not allowed", 1),
    ("[x for x in ()]", "brackets '[' are not allowed", 1),
    ("9**9**9", "the constant part '9^9^9' is too large", None),
    ("x + 9^9^9", "the constant part '9^9^9' is too large", None),
    ("10^39 * x", "too large", None),
    ("exp(1000) * 0 + x", "the constant part 'exp(1000)' is too large", None),
    ("1/0 + x", "divides by zero", None),
    ("(-8)^(1/3)", "is not a real number", None),
    ("open('f')", "function 'open' is not allowed", 1),
    ("x " * 5000, "expression is longer than 500 characters", None),
    ("\u0445 + 1", "non-ASCII character 'х' (CYRILLIC SMALL LETTER HA)", 1),
    ("x + \uff59", "non-ASCII character", 5),
    ("\uff53\uff49\uff4e(x)", "FULLWIDTH LATIN SMALL LETTER S", 1),
    ("x if y else 1", "keyword 'if' is not allowed", 3),
    ("x < y", "comparisons are not allowed", 3),
    ("x == y", "comparisons are not allowed", 3),
    ("x and y", "keyword 'and' is not allowed", 3),
    ("x[0]", "brackets '[' are not allowed", 2),
    ("'abc'", "strings are not allowed", 1),
    ("b'abc'", "unknown name 'b'", 1),
    ("f'{x}'", "unknown name 'f'", 1),
    ("sin(x, y)", "function 'sin' takes 1 argument, got 2", 1),
    ("minimum(x)", "function 'minimum' takes 2 arguments, got 1", 1),
    ("sin()", "function 'sin' takes 1 argument, got 0", 1),
    ("sin(x=1)", "'=' is not allowed", 6),
    ("x + z", "unknown name 'z'", 5),
    ("2x", "missing operator between '2' and 'x'", 2),
    ("x(y + 1)", "missing operator between 'x' and '('", 2),
    ("x +", "expression is incomplete", 3),
    ("(" * 1000 + "x" + ")" * 1000, "longer than 500 characters", None),
    ("(" * 60 + "x" + ")" * 60, "nested too deeply (more than 50 parentheses)", 51),
    ("x+" * 150 + "x", "nested too deeply", None),
    ("__builtins__", "names starting with '_' are not allowed", 1),
    ("globals()", "function 'globals' is not allowed", 1),
    ("getattr(x, 'a')", "function 'getattr' is not allowed", 1),
    ("exec('1')", "function 'exec' is not allowed", 1),
    ("eval('1')", "function 'eval' is not allowed", 1),
    ("compile('1', 'f', 'eval')", "function 'compile' is not allowed", 1),
    ("import os", "keyword 'import' is not allowed", 1),
    ("x = 1", "'=' is not allowed", 3),
    ("(y := 2)", "':' is not allowed", 4),
    ("*x", "expected a number, x, y, a function or '(' but found '*'", 1),
    ("x; y", "';' is not allowed", 2),
    ("(x", "expected ')' to close '('", 1),
    ("x)", "unmatched ')'", 2),
    ("(x, y)", "',' is only allowed between function arguments", 3),
    ("x // 2", "'//' (floor division) is not supported", 3),
    ("x % 2", "'%' (remainder) is not supported", 3),
    ("x & y", "bitwise and boolean operators are not allowed", 3),
    ("~x", "bitwise", 1),
    ("1" * 40 + " * x", "too many digits", 1),
    ("1e999 * x", "number '1e999' is too large", 1),
    ("", "expression is empty", None),
    ("   \n ", "expression is empty", None),
    ("sin x", "function 'sin' needs its argument in parentheses", 1),
    ("xy", "unknown name 'xy' (write x*y to multiply)", 1),
    ("x # comment", "comments ('#') are not allowed", 3),
    ("x\x00", "unexpected character '\\x00'", 2),
    ("True", "keyword 'True' is not allowed", 1),
    ("_", "names starting with '_' are not allowed", 1),
]


@contextlib.contextmanager
def forbid_side_effects(calls: list[str]) -> Iterator[None]:
    """Replace process, file and code-execution entry points by recorders while parsing."""

    def recorder(name: str, original=None):
        def record(*args, **kwargs):
            calls.append(name)
            if original is not None:
                return original(*args, **kwargs)
            raise AssertionError(f"{name} was called")

        return record

    real_import = builtins.__import__

    def guarded_import(name, *args, **kwargs):
        if name.split(".")[0] in {"os", "subprocess", "shutil", "socket", "ctypes"}:
            calls.append(f"import {name}")
        return real_import(name, *args, **kwargs)

    patches = [
        (os, "system", recorder("os.system")),
        (os, "popen", recorder("os.popen")),
        (os, "remove", recorder("os.remove")),
        (subprocess, "Popen", recorder("subprocess.Popen")),
        (builtins, "open", recorder("open")),
        (builtins, "eval", recorder("eval")),
        (builtins, "exec", recorder("exec")),
        (builtins, "compile", recorder("compile")),
        (builtins, "__import__", guarded_import),
    ]
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in patches]
    try:
        for obj, attr, replacement in patches:
            setattr(obj, attr, replacement)
        yield
    finally:
        for obj, attr, original in saved:
            setattr(obj, attr, original)


def test_at_least_thirty_hostile_cases() -> None:
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize(
    "text, fragment, column", HOSTILE, ids=[repr(t[:25]) for t, _, _ in HOSTILE]
)
def test_hostile_input_is_refused_without_side_effects(
    text: str, fragment: str, column: int | None, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    calls: list[str] = []
    with forbid_side_effects(calls):
        try:
            parse_expression(text)
        except ExpressionError as err:
            caught: ExpressionError | None = err
        else:
            caught = None
        try:
            from_expression(text)
        except ExpressionError:
            surface_refused = True
        else:
            surface_refused = False
    assert caught is not None, f"{text[:40]!r} was accepted"
    assert surface_refused
    assert calls == []
    assert os.listdir(tmp_path) == []
    assert fragment in str(caught), str(caught)
    assert caught.column == column
    if column is not None:
        assert str(caught) == f"{caught.message} at column {column}"
    else:
        assert str(caught) == caught.message


def test_error_is_a_value_error_with_exact_messages() -> None:
    with pytest.raises(ValueError):
        parse_expression("x + z")
    cases = {
        "x + z": "unknown name 'z' at column 5",
        "2x": "missing operator between '2' and 'x' at column 2",
        "open('f')": "function 'open' is not allowed at column 1",
        "x " * 300: "expression is longer than 500 characters (600)",
        "sin(x) + (y": "expected ')' to close '(' at column 10",
        "y*(2 + 3)(x)": "missing operator between ')' and '(' at column 10",
    }
    for text, message in cases.items():
        with pytest.raises(ExpressionError) as info:
            parse_expression(text)
        assert str(info.value) == message


def test_length_is_checked_before_anything_else() -> None:
    # 10,000 look-alike characters: the length message wins, so nothing else scanned them.
    with pytest.raises(ExpressionError, match="longer than 500"):
        parse_expression("\u0445" * 10_000)


def test_non_string_input_is_refused() -> None:
    for value in (None, 3, b"x", ["x"]):
        with pytest.raises(ExpressionError, match="must be text"):
            parse_expression(value)  # type: ignore[arg-type]


def test_nesting_at_the_limit_is_accepted() -> None:
    depth = expression.MAX_PAREN_DEPTH
    tree = parse_expression("sin(" * (depth - 1) + "(x)" + ")" * (depth - 1))
    fn = compile_expression(tree)
    expected = 0.3
    for _ in range(depth - 1):
        expected = np.sin(expected)
    np.testing.assert_allclose(float(fn(jnp.array([0.3, 0.0]))), expected, rtol=1e-5)


def test_module_never_calls_eval_exec_or_compile() -> None:
    source = inspect.getsource(expression)
    forbidden = {"eval", "exec", "compile", "__import__", "getattr"}
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in forbidden:
                found.append(node.func.id)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert "ast" not in names
    # getattr(xp, func) is the one dynamic lookup, and func is always a whitelisted name.
    assert found == ["getattr"]


# ---------------------------------------------------------------------------------------
# Valid formulas against hand-written NumPy.

# No grid point has x = 0 or y = 0, so every reference below is finite.
GRID = np.stack(
    np.meshgrid(np.linspace(-2.9, 2.7, 17), np.linspace(-2.8, 2.9, 13)), -1
).reshape(-1, 2)

REFERENCES = [
    ("x**2 - y**2", lambda x, y: x**2 - y**2),
    ("x^2 - y^2", lambda x, y: x**2 - y**2),
    ("sin(x)*cos(y) + 0.1*(x^2 + y^2)", lambda x, y: np.sin(x) * np.cos(y) + 0.1 * (x**2 + y**2)),
    ("-x**2 + 2^3^2 * 1e-3 * y", lambda x, y: -(x**2) + 512 * 1e-3 * y),
    ("-2^2 + x - -y - +x", lambda x, y: -4.0 + x + y - x),
    ("2^-x^2 * 3", lambda x, y: 2.0 ** (-(x**2)) * 3),
    ("x*y/2/3 - x - y - 1", lambda x, y: x * y / 6 - x - y - 1),
    (
        "tan(x/4) + exp(-y^2) - log(1 + x^2) + sqrt(abs(y) + 1)",
        lambda x, y: np.tan(x / 4) + np.exp(-(y**2)) - np.log(1 + x**2) + np.sqrt(np.abs(y) + 1),
    ),
    (
        "tanh(x) * sinh(y/2) / cosh(x*y/3)",
        lambda x, y: np.tanh(x) * np.sinh(y / 2) / np.cosh(x * y / 3),
    ),
    (
        "arctan(x) + arcsin(y/4) - arccos(x/4)",
        lambda x, y: np.arctan(x) + np.arcsin(y / 4) - np.arccos(x / 4),
    ),
    (
        "minimum(x, y) + maximum(x^2, y) - pi*e",
        lambda x, y: np.minimum(x, y) + np.maximum(x**2, y) - np.pi * np.e,
    ),
    ("(1 - x)^2 + 100*(y - x^2)^2", lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2),
    ("x^3 + (x^2 + y^2)^0.5 + 1.5e-1*y", lambda x, y: x**3 + np.sqrt(x**2 + y**2) + 0.15 * y),
    ("abs(x) ^ 2 ^ 0.5", lambda x, y: np.abs(x) ** np.sqrt(2)),
]


@pytest.mark.parametrize("text, reference", REFERENCES, ids=[t for t, _ in REFERENCES])
def test_values_match_numpy(text: str, reference) -> None:
    fn = from_expression(text).fn
    actual = np.asarray(jax.vmap(fn)(jnp.asarray(GRID, dtype=jnp.float32)), dtype=np.float64)
    expected = reference(GRID[:, 0], GRID[:, 1])
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=2e-5 * np.max(np.abs(expected)))


def test_precedence_spot_values() -> None:
    p = jnp.array([3.0, 2.0])
    spots = {
        "-x**2": -9.0,
        "2^3^2": 512.0,
        "(2^3)^2": 64.0,
        "-x^y": -9.0,
        "x^-y": 1 / 9,
        "-(-x)": 3.0,
    }
    for text, value in spots.items():
        assert float(from_expression(text).fn(p)) == pytest.approx(value, rel=1e-6), text


def test_integer_powers_of_negative_bases_are_exact() -> None:
    fn = from_expression("x^3 + y^-2").fn
    p = jnp.array([-2.0, -0.5])
    assert float(fn(p)) == pytest.approx(-8.0 + 4.0)
    np.testing.assert_allclose(jax.grad(fn)(p), [12.0, 16.0], rtol=1e-6)  # (3x^2, -2y^-3)


# ---------------------------------------------------------------------------------------
# Gradients against hand-derived formulas.


def _sech2(t):
    return 1.0 / np.cosh(t) ** 2


GRADIENTS = [
    ("x^2*y - y^3", lambda x, y: (2 * x * y, x**2 - 3 * y**2)),
    (
        "sin(x)*cos(y) + 0.1*(x^2 + y^2)",
        lambda x, y: (np.cos(x) * np.cos(y) + 0.2 * x, -np.sin(x) * np.sin(y) + 0.2 * y),
    ),
    (
        "exp(-x^2 - y^2) + log(1 + x^2) * sqrt(y^2 + 1)",
        lambda x, y: (
            -2 * x * np.exp(-(x**2) - y**2) + 2 * x / (1 + x**2) * np.sqrt(y**2 + 1),
            -2 * y * np.exp(-(x**2) - y**2) + np.log(1 + x**2) * y / np.sqrt(y**2 + 1),
        ),
    ),
    (
        "(1 - x)^2 + 100*(y - x^2)^2",
        lambda x, y: (-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)),
    ),
    (
        "tanh(x*y) / cosh(x) + arctan(y)",
        lambda x, y: (
            y * _sech2(x * y) / np.cosh(x) - np.tanh(x * y) * np.sinh(x) / np.cosh(x) ** 2,
            x * _sech2(x * y) / np.cosh(x) + 1 / (1 + y**2),
        ),
    ),
    ("x^y", lambda x, y: (y * x ** (y - 1), x**y * np.log(x))),
    ("-x/y + pi", lambda x, y: (-1 / y, x / y**2)),
]


@pytest.mark.parametrize("text, gradient", GRADIENTS, ids=[t for t, _ in GRADIENTS])
def test_gradients_match_hand_derivation(text: str, gradient) -> None:
    rng = np.random.default_rng(7)
    xs = rng.uniform(0.3, 2.0, 6)  # x > 0 keeps x^y real
    ys = rng.uniform(0.4, 1.5, 6) * rng.choice([-1, 1], 6)  # y != 0 keeps x/y finite
    points = np.stack([xs, ys], -1)
    grad = jax.grad(from_expression(text).fn)
    for x, y in points:
        actual = np.asarray(grad(jnp.array([x, y], dtype=jnp.float32)), dtype=np.float64)
        expected = np.array(gradient(x, y))
        scale = 1 + np.abs(expected).max()
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * scale)


def test_hessian_and_jit() -> None:
    fn = from_expression("(1 - x)^2 + 100*(y - x^2)^2").fn
    x, y = 0.7, -0.4
    p = jnp.array([x, y])
    expected = np.array([[2 - 400 * y + 1200 * x**2, -400 * x], [-400 * x, 200.0]])
    np.testing.assert_allclose(jax.hessian(fn)(p), expected, rtol=1e-5)
    assert float(jax.jit(fn)(p)) == pytest.approx(float(fn(p)), rel=1e-6)
    assert jax.jit(fn)(p).shape == ()


def test_constant_formula_is_a_scalar_with_zero_gradient() -> None:
    fn = from_expression("2*pi").fn
    p = jnp.array([1.0, 2.0])
    assert fn(p).shape == () and fn(p).dtype == p.dtype
    assert float(fn(p)) == pytest.approx(2 * np.pi, rel=1e-6)
    np.testing.assert_array_equal(jax.grad(fn)(p), [0.0, 0.0])


# ---------------------------------------------------------------------------------------
# Printing.


def test_canonical_text_and_latex() -> None:
    cases = {
        "x**2-y**2": ("x^2 - y^2", "x^{2} - y^{2}"),
        "x/(1+y)": ("x / (1 + y)", r"\frac{x}{1 + y}"),
        "-x**2": ("-x^2", "-x^{2}"),
        "(-2)^2*x": ("(-2)^2 * x", r"\left(-2\right)^{2} \cdot x"),
        "2^3^2": ("2^3^2", "2^{3^{2}}"),
        "(2^3)^2": ("(2^3)^2", r"\left(2^{3}\right)^{2}"),
        "2*sin(x) - log(y)": ("2 * sin(x) - log(y)", r"2 \sin\left(x\right) - \ln\left(y\right)"),
        "sqrt(abs(x))*pi": ("sqrt(abs(x)) * pi", r"\sqrt{\left|x\right|} \cdot \pi"),
        "x - (y - 1)": ("x - (y - 1)", r"x - \left(y - 1\right)"),
        "x*-y": ("x * -y", r"x \cdot \left(-y\right)"),
        "minimum(x, y)": ("minimum(x, y)", r"\min\left(x, y\right)"),
        "1e-3*x": ("0.001 * x", r"0.001 x"),
    }
    for text, (canonical, latex) in cases.items():
        tree = parse_expression(text)
        assert to_text(tree) == canonical, text
        assert to_latex(tree) == latex, text
        assert parse_expression(canonical) == tree
        assert hash(parse_expression(canonical)) == hash(tree)


# ---------------------------------------------------------------------------------------
# Surfaces, domains and the cache.


def test_surface_fields() -> None:
    s = from_expression("x**2 - y**2", domain=((-2, 2), (-2, 2)))
    assert isinstance(s, Surface)
    assert s.key == "custom" and s.expression == "x^2 - y^2" and "x^2 - y^2" in s.title
    assert s.latex == "x^{2} - y^{2}"
    assert s.domain == ((-2.0, 2.0), (-2.0, 2.0))
    assert s.landmarks == () and s.lesson == "" and s.log_levels is False
    assert s.starts == ((-1.4, 1.4),)


def test_default_start_avoids_where_f_is_undefined() -> None:
    (start,) = from_expression("log(x) + y^2").starts  # undefined for x <= 0
    assert start == (2.1, 2.1)
    (start,) = from_expression("log(x) + log(-y)").starts
    assert start == (2.1, -2.1)


def test_same_text_same_surface_and_domain_is_part_of_the_key() -> None:
    a = from_expression("sin(x)*cos(y)", domain=((-3, 3), (-3, 3)))
    assert from_expression("sin(x)*cos(y)", domain=[[-3.0, 3.0], [-3.0, 3.0]]) is a
    assert from_expression("sin(x) * cos(y)") is a  # the default domain is ((-3, 3), (-3, 3))
    assert from_expression("sin(x)*cos(y)", domain=((-3, 3), (-2, 2))) is not a
    assert from_expression("x**2 - y**2") is from_expression("x^2-y^2")


def test_cache_is_a_bounded_lru() -> None:
    expression.clear_surface_cache()
    size = expression.SURFACE_CACHE_SIZE
    first = from_expression("x + 0")
    second = from_expression("x + 1")
    for i in range(2, size):
        from_expression(f"x + {i}")
    assert expression.cached_surface_count() == size
    assert from_expression("x + 0") is first  # a hit makes "x + 0" the most recent
    from_expression(f"x + {size}")  # evicts the least recent: "x + 1"
    assert expression.cached_surface_count() == size
    assert from_expression("x + 0") is first
    assert from_expression("x + 1") is not second
    for i in range(size + 1, size + 40):
        from_expression(f"x + {i}")
    assert expression.cached_surface_count() == size
    expression.clear_surface_cache()


@pytest.mark.parametrize(
    "domain, fragment",
    [
        (((-3, 3), (3, -3)), "y_min < y_max"),
        (((1, 1), (-3, 3)), "x_min < x_max"),
        (((-np.inf, 3), (-3, 3)), "not a finite number"),
        (((-3, 3), (float("nan"), 3)), "not a finite number"),
        (((-3, 3e4), (-3, 3)), "outside"),
        (((-3, 3), (-3, "4")), "must be a number"),
        (((-3, 3), (-3, True)), "must be a number"),
        (((-3, 3, 4), (-3, 3)), "domain must be"),
        ((-3, 3), "domain must be"),
        (None, "domain must be"),
    ],
)
def test_bad_domains_are_refused(domain, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=fragment):
        from_expression("x + y", domain=domain)


# ---------------------------------------------------------------------------------------
# Property: arbitrary text never escapes as anything but ExpressionError.

PIECES = list("xy0123456789.eE+-*/^(), _'[]")
PIECES += ["sin", "sqrt", "pi", "minimum", "**", "log", "(", "x^", "9"]


@settings(max_examples=50, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=string.printable, max_size=60),
        st.lists(st.sampled_from(PIECES), max_size=25).map("".join),
        st.text(max_size=20),
    )
)
def test_random_text_raises_only_expression_error(text: str) -> None:
    try:
        tree = parse_expression(text)
    except ExpressionError as err:
        assert err.message and (err.column is None or 1 <= err.column <= len(text) + 1)
        return
    assert parse_expression(to_text(tree)) == tree
    to_latex(tree)
    value = compile_expression(tree)(jnp.array([0.5, -0.25]))
    assert value.shape == ()


def test_constant_parts_are_checked_by_their_real_domain() -> None:
    # exp(28 pi) = 1.6e38 fits float32, exp(28.3 pi) = 4.2e38 does not.
    accepted = ["arcsin(1) + arccos(-1) + log(1e-30) + sqrt(0) + 0^0", "x^(2^127)", "1e38 * x"]
    accepted.append("exp(28.0 * arccos(-1))")
    refused = ["arccos(1.5)", "arcsin(-1.01)", "sqrt(-1)", "log(0)", "0^-1", "x * 2^128"]
    refused += ["cosh(90)", "exp(28.3 * arccos(-1))"]
    for text in accepted:
        parse_expression(text)
    for text in refused:
        with pytest.raises(ExpressionError, match="the constant part"):
            parse_expression(text)
