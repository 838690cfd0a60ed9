"""Safe user formulas: parse f(x, y) text against a whitelist into a JAX loss surface.

Nothing here evaluates user text with eval/exec/compile or Python's ast: a hand-written
tokenizer and recursive-descent parser accept exactly this grammar, with the usual
mathematical precedence (power binds tighter than unary minus, and is right-associative)::

    expr    := term (('+' | '-') term)*
    term    := unary (('*' | '/') unary)*
    unary   := ('+' | '-')* power
    power   := primary (('^' | '**') ('+' | '-')* primary)*      # right-associative
    primary := NUMBER | 'x' | 'y' | 'pi' | 'e' | FUNC '(' expr (',' expr)* ')' | '(' expr ')'

so -x^2 = -(x^2), 2^3^2 = 2^(3^2) = 512 and 2^-x^2 = 2^(-(x^2)), as in Python and NumPy.
A hand-written parser (rather than ast.parse + a node whitelist) is used because Python
gives '^' (BitXor) a precedence *below* '+', so x^2 + 1 would silently mean x^(2 + 1).

Resource limits are checked on the raw text before any recursion: at most 500 characters,
at most 50 nested parentheses, at most 30 digits per number, and a parsed tree at most 100
levels deep (so the recursive compiler, printer and hash stay far from Python's recursion
limit). Every sub-expression that does not involve x or y is evaluated once in Python
floats (math.pow, never integer '**'), and refused if it is not a finite number inside the
float32 range (|v| <= 3.4e38): the app computes in float32, where 9^9^9, exp(100) or 1/0
would otherwise turn the whole surface into inf/nan without a word.

Those limits bound the text, not the work: x^y^x^y... in 195 characters passes them and
then costs minutes of compiling. from_expression therefore also prices the formula's
value, gradient and Hessian with surfaces/cost.py before anything is compiled and refuses
it over the budget; parse_expression alone does not, since parsing is cheap. Programs
compiled from user formulas are kept out of JAX's persistent cache (surfaces/jitcache.py).
"""
from __future__ import annotations

import keyword
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real
from typing import Any, Union

import jax
import jax.numpy as jnp
import numpy as np

from surfaces.base import Point, Surface
from surfaces.jitcache import mark_user_formula

__all__ = [
    "Expr",
    "ExpressionError",
    "Num",
    "Var",
    "Const",
    "Neg",
    "BinOp",
    "Call",
    "parse_expression",
    "compile_expression",
    "to_text",
    "to_latex",
    "validate_domain",
    "from_expression",
    "clear_surface_cache",
    "cached_surface_count",
    "MAX_LENGTH",
    "MAX_PAREN_DEPTH",
    "MAX_TREE_DEPTH",
    "MAX_DIGITS",
    "MAX_DOMAIN_BOUND",
    "SURFACE_CACHE_SIZE",
]

MAX_LENGTH = 500
MAX_PAREN_DEPTH = 50
MAX_TREE_DEPTH = 100
MAX_DIGITS = 30
MAX_DOMAIN_BOUND = 1e4
SURFACE_CACHE_SIZE = 64
FLOAT32_MAX = float(np.finfo(np.float32).max)  # ~3.4e38
INT_POW_LIMIT = 1024  # integer exponents up to this use exact repeated multiplication

DEFAULT_DOMAIN: tuple[Point, Point] = ((-3.0, 3.0), (-3.0, 3.0))


class ExpressionError(ValueError):
    """A formula or domain the app refuses.

    message is the bare explanation, column the 1-based position in the user's text it
    refers to (None when it has no single position); str() joins them:
    "unknown name 'z' at column 5".
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        self.message = message
        self.column = column
        super().__init__(message if column is None else f"{message} at column {column}")


# ---------------------------------------------------------------------------------------
# The tree: small frozen dataclasses, hashable and comparable by value.


@dataclass(frozen=True, slots=True)
class Num:
    value: float


@dataclass(frozen=True, slots=True)
class Var:
    name: str  # "x" or "y"


@dataclass(frozen=True, slots=True)
class Const:
    name: str  # "pi" or "e"


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Expr


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str  # one of + - * / ^
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Expr, ...]


Expr = Union[Num, Var, Const, Neg, BinOp, Call]

VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}
# name -> (arity, float evaluator for constant parts); the name is also the jnp/np function.
FUNCTIONS: dict[str, tuple[int, Callable[..., float]]] = {
    "sin": (1, math.sin),
    "cos": (1, math.cos),
    "tan": (1, math.tan),
    "exp": (1, math.exp),
    "log": (1, math.log),
    "sqrt": (1, math.sqrt),
    "abs": (1, abs),
    "tanh": (1, math.tanh),
    "sinh": (1, math.sinh),
    "cosh": (1, math.cosh),
    "arctan": (1, math.atan),
    "arcsin": (1, math.asin),
    "arccos": (1, math.acos),
    "minimum": (2, min),
    "maximum": (2, max),
}


def _negate(node: Expr) -> Expr:
    """-node, folding the cases that are exact in IEEE arithmetic: -(-a) = a, -(c) = (-c)."""
    if isinstance(node, Neg):
        return node.operand
    if isinstance(node, Num):
        return Num(-node.value)
    return Neg(node)


# ---------------------------------------------------------------------------------------
# Tokenizer. It stops at the first character it cannot accept and leaves an "error" token
# there, so that problems are reported left to right in the order the parser meets them
# (``__import__('os')`` complains about the name, not the quote).


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "num", "name", "op", "error", "end"
    text: str
    column: int  # 1-based
    message: str = ""


_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WHITESPACE = " \t\r\n"
_BAD_CHARACTERS = {
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    ".": "attribute access ('.') is not allowed",
    "[": "brackets '[' are not allowed (no subscripts or lists); use parentheses",
    "]": "brackets ']' are not allowed; use parentheses",
    "{": "braces '{' are not allowed; use parentheses",
    "}": "braces '}' are not allowed; use parentheses",
    "<": "comparisons are not allowed",
    ">": "comparisons are not allowed",
    "!": "comparisons are not allowed",
    "&": "bitwise and boolean operators are not allowed",
    "|": "bitwise and boolean operators are not allowed (write abs(x) for |x|)",
    "~": "bitwise and boolean operators are not allowed",
    "%": "'%' (remainder) is not supported",
    "@": "'@' is not allowed",
    ":": "':' is not allowed (no lambdas, slices or walrus assignment)",
    ";": "';' is not allowed: enter a single expression",
    "#": "comments ('#') are not allowed",
    "\\": "backslashes are not allowed",
}


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch in _WHITESPACE:
            i += 1
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            match = _NUMBER.match(text, i)
            assert match is not None  # a digit, or '.' + digit, always starts a number
            literal = match.group()
            problem = _check_number(literal)
            if problem:
                tokens.append(_Token("error", literal, col, problem))
                break
            tokens.append(_Token("num", literal, col))
            i = match.end()
            continue
        if ch.isalpha() or ch == "_":
            match = _NAME.match(text, i)
            assert match is not None
            name = match.group()
            if keyword.iskeyword(name):
                tokens.append(_Token("error", name, col, f"keyword '{name}' is not allowed"))
                break
            tokens.append(_Token("name", name, col))
            i = match.end()
            continue
        if text.startswith("**", i):
            tokens.append(_Token("op", "**", col))
            i += 2
            continue
        if text.startswith("//", i):
            tokens.append(_Token("error", "//", col, "'//' (floor division) is not supported"))
            break
        if ch == "=":
            if text.startswith("==", i):
                message = "comparisons are not allowed"
            else:
                message = "'=' is not allowed (no assignments or keyword arguments)"
            tokens.append(_Token("error", ch, col, message))
            break
        if ch in "+-*/^(),":
            tokens.append(_Token("op", ch, col))
            i += 1
            continue
        message = _BAD_CHARACTERS.get(ch, f"unexpected character {ch!r}")
        tokens.append(_Token("error", ch, col, message))
        break
    else:
        tokens.append(_Token("end", "", n + 1))
    return tokens


def _check_number(literal: str) -> str:
    """Why a numeric literal is refused, or "" if it is fine."""
    digits = sum(c.isdigit() for c in literal)
    if digits > MAX_DIGITS:
        return f"number '{literal[:12]}...' has too many digits ({digits} > {MAX_DIGITS})"
    value = float(literal)  # bounded by MAX_DIGITS, so this is cheap; never int(literal)
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        return f"number '{literal}' is too large (float32 holds at most 3.4e38)"
    return ""


# ---------------------------------------------------------------------------------------
# Parser.


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind == "error":
            raise ExpressionError(token.message, token.column)
        self.i += 1
        return token

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.text in ops

    def parse(self) -> Expr:
        node = self.expr()
        if self.peek().kind != "end":
            self.unexpected(self.peek())
        return node

    def expr(self) -> Expr:
        node = self.term()
        while self.at_op("+", "-"):
            op = self.advance().text
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Expr:
        node = self.unary()
        while self.at_op("*", "/"):
            op = self.advance().text
            node = BinOp(op, node, self.unary())
        return node

    def signs(self) -> bool:
        """Consume a run of unary signs; True if they multiply to minus."""
        negative = False
        while self.at_op("+", "-"):
            negative ^= self.advance().text == "-"
        return negative

    def unary(self) -> Expr:
        # Iterative, so '------x' costs no recursion; -a^b = -(a^b) because power() runs first.
        negative = self.signs()
        node = self.power()
        return _negate(node) if negative else node

    def power(self) -> Expr:
        # a ^ -b ^ c = a ^ (-(b ^ c)): collect the tower, then fold it from the right.
        base = self.primary()
        tower: list[tuple[bool, Expr]] = []
        while self.at_op("^", "**"):
            self.advance()
            negative = self.signs()
            tower.append((negative, self.primary()))
        if not tower:
            return base
        negative, exponent = tower[-1]
        acc = _negate(exponent) if negative else exponent
        for negative, operand in reversed(tower[:-1]):
            acc = BinOp("^", operand, acc)
            if negative:
                acc = _negate(acc)
        return BinOp("^", base, acc)

    def primary(self) -> Expr:
        token = self.peek()
        if token.kind == "num":
            self.advance()
            return Num(float(token.text))
        if token.kind == "name":
            return self.name()
        if token.kind == "op" and token.text == "(":
            self.advance()
            if self.at_op(")"):
                raise ExpressionError("empty parentheses", token.column)
            node = self.expr()
            self.close(token)
            return node
        if token.kind == "error":
            self.advance()  # raises the tokenizer's message
        previous = self.tokens[self.i - 1] if self.i > 0 else None
        if token.kind == "end":
            assert previous is not None  # empty input is refused before parsing
            raise ExpressionError(
                f"expression is incomplete: expected a number, x, y, a function or '(' "
                f"after {previous.text!r}",
                previous.column,
            )
        raise ExpressionError(
            f"expected a number, x, y, a function or '(' but found {token.text!r}", token.column
        )

    def name(self) -> Expr:
        token = self.advance()
        name = token.text
        followed_by_paren = self.at_op("(")
        if name.startswith("_"):
            raise ExpressionError(
                f"names starting with '_' are not allowed ({name!r})", token.column
            )
        if name in VARIABLES:
            return Var(name)
        if name in CONSTANTS:
            return Const(name)
        if name in FUNCTIONS:
            if not followed_by_paren:
                raise ExpressionError(
                    f"function '{name}' needs its argument in parentheses, e.g. {name}(x)",
                    token.column,
                )
            return self.call(token)
        if followed_by_paren:
            raise ExpressionError(f"function '{name}' is not allowed", token.column)
        if set(name) <= {"x", "y"}:
            hint = "*".join(name)
            raise ExpressionError(f"unknown name '{name}' (write {hint} to multiply)", token.column)
        raise ExpressionError(f"unknown name '{name}'", token.column)

    def call(self, name: _Token) -> Expr:
        opening = self.advance()  # '('
        args: list[Expr] = []
        if not self.at_op(")"):
            args.append(self.expr())
            while self.at_op(","):
                self.advance()
                args.append(self.expr())
        self.close(opening)
        arity = FUNCTIONS[name.text][0]
        if len(args) != arity:
            plural = "argument" if arity == 1 else "arguments"
            raise ExpressionError(
                f"function '{name.text}' takes {arity} {plural}, got {len(args)}", name.column
            )
        return Call(name.text, tuple(args))

    def close(self, opening: _Token) -> None:
        token = self.peek()
        if token.kind == "op" and token.text == ")":
            self.advance()
            return
        if token.kind == "end":
            raise ExpressionError("expected ')' to close '('", opening.column)
        self.unexpected(token)

    def unexpected(self, token: _Token) -> None:
        if token.kind == "error":
            self.advance()
        if token.kind in ("num", "name") or (token.kind == "op" and token.text == "("):
            previous = self.tokens[self.i - 1]
            raise ExpressionError(
                f"missing operator between {previous.text!r} and {token.text!r}", token.column
            )
        if token.text == ")":
            raise ExpressionError("unmatched ')'", token.column)
        if token.text == ",":
            raise ExpressionError("',' is only allowed between function arguments", token.column)
        raise ExpressionError(f"unexpected {token.text!r}", token.column)


# ---------------------------------------------------------------------------------------
# Checks on raw text and on the tree.


def _check_raw_text(text: Any) -> None:
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters ({len(text)})")
    for index, ch in enumerate(text):
        if not ch.isascii():
            # Python would NFKC-normalize 'ｘ' to 'x'; we refuse look-alikes outright.
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            raise ExpressionError(
                f"non-ASCII character {ch!r} ({name}); type formulas with plain ASCII letters",
                index + 1,
            )
    if not text.strip():
        raise ExpressionError("expression is empty")
    depth = 0
    for index, ch in enumerate(text):
        if ch == "(":
            depth += 1
            if depth > MAX_PAREN_DEPTH:
                raise ExpressionError(
                    f"expression is nested too deeply (more than {MAX_PAREN_DEPTH} parentheses)",
                    index + 1,
                )
        elif ch == ")":
            depth -= 1


def children(node: Expr) -> tuple[Expr, ...]:
    """A node's operands (a walk over the tree needs no other knowledge of node types)."""
    if isinstance(node, Neg):
        return (node.operand,)
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return ()


def _tree_depth(root: Expr) -> int:
    """Depth by an explicit stack: the tree may be deep even when the parser's stack was not."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children(node))
    return deepest


def _constant_value(node: Expr) -> float | None:
    """The value of a sub-expression free of x and y, or None if it depends on them.

    Evaluated in float64 with math functions and math.pow (which raise instead of hanging
    on huge integers or returning complex numbers); refused unless finite and within the
    float32 range the surface is computed in.
    """
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Var):
        return None
    if isinstance(node, Const):
        return CONSTANTS[node.name]
    values = [_constant_value(child) for child in children(node)]
    if any(v is None for v in values):
        return None
    try:
        if isinstance(node, Neg):
            value = -values[0]
        elif isinstance(node, BinOp):
            a, b = values
            if node.op == "+":
                value = a + b
            elif node.op == "-":
                value = a - b
            elif node.op == "*":
                value = a * b
            elif node.op == "/":
                value = a / b
            else:
                value = math.pow(a, b)
        else:
            value = float(FUNCTIONS[node.func][1](*values))
    except ZeroDivisionError:
        raise ExpressionError(f"the constant part '{to_text(node)}' divides by zero") from None
    except OverflowError:
        raise ExpressionError(
            f"the constant part '{to_text(node)}' is too large (float32 holds at most 3.4e38)"
        ) from None
    except ValueError:
        raise ExpressionError(f"the constant part '{to_text(node)}' is not a real number") from None
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        raise ExpressionError(
            f"the constant part '{to_text(node)}' is too large (float32 holds at most 3.4e38)"
        )
    return value


def parse_expression(text: str) -> Expr:
    """Parse a formula in x and y into an immutable, hashable tree; ExpressionError if refused."""
    _check_raw_text(text)
    tree = _Parser(_tokenize(text)).parse()
    if _tree_depth(tree) > MAX_TREE_DEPTH:
        raise ExpressionError(
            f"expression is nested too deeply (more than {MAX_TREE_DEPTH} levels); simplify it"
        )
    _constant_value(tree)
    return tree


# ---------------------------------------------------------------------------------------
# Printing: canonical text (re-parses to the same tree) and LaTeX.

_PREC_ADD, _PREC_MUL, _PREC_NEG, _PREC_POW, _PREC_ATOM = 1, 2, 3, 4, 5


def _precedence(node: Expr) -> int:
    if isinstance(node, BinOp):
        return {"+": _PREC_ADD, "-": _PREC_ADD, "*": _PREC_MUL, "/": _PREC_MUL}.get(
            node.op, _PREC_POW
        )
    if isinstance(node, Neg) or (isinstance(node, Num) and math.copysign(1.0, node.value) < 0):
        return _PREC_NEG
    return _PREC_ATOM


def _format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def to_text(node: Expr) -> str:
    """Canonical text with minimal parentheses, '^' for power; parse_expression inverts it."""
    if isinstance(node, Num):
        return _format_number(node.value)
    if isinstance(node, (Var, Const)):
        return node.name
    if isinstance(node, Call):
        return f"{node.func}({', '.join(to_text(a) for a in node.args)})"
    if isinstance(node, Neg):
        return "-" + _wrap_text(node.operand, _precedence(node.operand) < _PREC_NEG)
    prec = _precedence(node)
    if node.op == "^":
        # right-associative; the exponent may be a signed term (2^-x), the base may not.
        left = _wrap_text(node.left, _precedence(node.left) <= _PREC_POW)
        right = _wrap_text(node.right, _precedence(node.right) < _PREC_NEG)
        return f"{left}^{right}"
    left = _wrap_text(node.left, _precedence(node.left) < prec)
    right = _wrap_text(node.right, _precedence(node.right) <= prec)
    return f"{left} {node.op} {right}"


def _wrap_text(node: Expr, parenthesize: bool) -> str:
    text = to_text(node)
    return f"({text})" if parenthesize else text


_LATEX_FUNCTIONS = {
    "sin": r"\sin",
    "cos": r"\cos",
    "tan": r"\tan",
    "exp": r"\exp",
    "log": r"\ln",
    "tanh": r"\tanh",
    "sinh": r"\sinh",
    "cosh": r"\cosh",
    "arctan": r"\arctan",
    "arcsin": r"\arcsin",
    "arccos": r"\arccos",
    "minimum": r"\min",
    "maximum": r"\max",
}


def _latex_number(value: float) -> str:
    text = _format_number(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        exponent_text = str(int(exponent))
        if mantissa in ("1", "1.0"):
            return f"10^{{{exponent_text}}}"
        return f"{mantissa} \\cdot 10^{{{exponent_text}}}"
    return text


def _latex_precedence(node: Expr) -> int:
    # A fraction is visually self-contained everywhere except as the base of a power.
    if isinstance(node, BinOp) and node.op == "/":
        return _PREC_POW
    if isinstance(node, Num) and "e" in _format_number(node.value):
        return _PREC_MUL  # 1.5 \cdot 10^{-7} behaves like a product
    return _precedence(node)


def _starts_with_letter(node: Expr) -> bool:
    if isinstance(node, (Var, Const, Call)):
        return True
    if isinstance(node, BinOp) and node.op == "^":
        return _starts_with_letter(node.left)
    return False


def to_latex(node: Expr) -> str:
    r"""LaTeX for the tree: \frac for division, \sin(..), x^{2}, |x| for abs, \ln for log."""
    if isinstance(node, Num):
        return _latex_number(node.value)
    if isinstance(node, Var):
        return node.name
    if isinstance(node, Const):
        return r"\pi" if node.name == "pi" else "e"
    if isinstance(node, Call):
        args = [to_latex(a) for a in node.args]
        if node.func == "sqrt":
            return rf"\sqrt{{{args[0]}}}"
        if node.func == "abs":
            return rf"\left|{args[0]}\right|"
        return rf"{_LATEX_FUNCTIONS[node.func]}\left({', '.join(args)}\right)"
    if isinstance(node, Neg):
        return "-" + _wrap_latex(node.operand, _latex_precedence(node.operand) < _PREC_NEG)
    if node.op == "/":
        return rf"\frac{{{to_latex(node.left)}}}{{{to_latex(node.right)}}}"
    if node.op == "^":
        base = _wrap_latex(node.left, _latex_precedence(node.left) <= _PREC_POW)
        return f"{base}^{{{to_latex(node.right)}}}"
    prec = _precedence(node)
    left = _wrap_latex(node.left, _latex_precedence(node.left) < prec)
    # A signed right operand gets parentheses in print even where the grammar doesn't need them.
    signed = _precedence(node.right) == _PREC_NEG
    right = _wrap_latex(node.right, signed or _latex_precedence(node.right) <= prec)
    if node.op == "*":
        juxtapose = (
            isinstance(node.left, Num)
            and _latex_precedence(node.left) == _PREC_ATOM
            and _starts_with_letter(node.right)
        )
        return f"{left} {right}" if juxtapose else rf"{left} \cdot {right}"
    return f"{left} {node.op} {right}"


def _wrap_latex(node: Expr, parenthesize: bool) -> str:
    text = to_latex(node)
    return rf"\left({text}\right)" if parenthesize else text


# ---------------------------------------------------------------------------------------
# Compiler.


def _evaluate(node: Expr, x: Any, y: Any, xp: Any) -> Any:
    """The tree's value with array module xp (jax.numpy for the surface, numpy for probing)."""
    if isinstance(node, Num):
        return node.value  # a Python float is weakly typed: it follows x's dtype
    if isinstance(node, Var):
        return x if node.name == "x" else y
    if isinstance(node, Const):
        return CONSTANTS[node.name]
    if isinstance(node, Neg):
        return -_evaluate(node.operand, x, y, xp)
    if isinstance(node, Call):
        args = [_evaluate(a, x, y, xp) for a in node.args]
        return getattr(xp, node.func)(*args)
    left = _evaluate(node.left, x, y, xp)
    if node.op == "^":
        exponent = node.right
        if (
            isinstance(exponent, Num)
            and exponent.value.is_integer()
            and abs(exponent.value) <= INT_POW_LIMIT
        ):
            # An integer exponent multiplies exactly: (-2)^3 = -8 and d/dx x^2 = 2x everywhere,
            # where the float power would go through log(x) (nan for x < 0).
            return xp.power(left, int(exponent.value))
        return xp.power(left, _evaluate(exponent, x, y, xp))
    right = _evaluate(node.right, x, y, xp)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    return left / right


def compile_expression(tree: Expr) -> Callable[[jax.Array], jax.Array]:
    """fn(p) = f(p[0], p[1]) in jax.numpy: scalar output, differentiable, jit-able."""

    def fn(p: jax.Array) -> jax.Array:
        p = jnp.asarray(p)
        if not jnp.issubdtype(p.dtype, jnp.floating):
            p = p.astype(jnp.float32)
        return jnp.asarray(_evaluate(tree, p[0], p[1], jnp), dtype=p.dtype)

    # Programs compiled from user text stay out of JAX's persistent cache (surfaces/jitcache.py).
    return mark_user_formula(fn)


# ---------------------------------------------------------------------------------------
# Surfaces.


def validate_domain(domain: Any) -> tuple[Point, Point]:
    """((x_min, x_max), (y_min, y_max)) as floats: finite, min < max, |bound| <= 1e4."""
    try:
        (x_min, x_max), (y_min, y_max) = domain
    except (TypeError, ValueError):
        raise ExpressionError("domain must be ((x_min, x_max), (y_min, y_max))") from None
    bounds = {"x_min": x_min, "x_max": x_max, "y_min": y_min, "y_max": y_max}
    clean: dict[str, float] = {}
    for label, bound in bounds.items():
        if isinstance(bound, bool) or not isinstance(bound, (Real, np.floating, np.integer)):
            raise ExpressionError(f"domain bound {label} must be a number, not {bound!r}")
        value = float(bound)
        if not math.isfinite(value):
            raise ExpressionError(f"domain bound {label} = {value} is not a finite number")
        if abs(value) > MAX_DOMAIN_BOUND:
            raise ExpressionError(
                f"domain bound {label} = {value:g} is outside "
                f"[-{MAX_DOMAIN_BOUND:g}, {MAX_DOMAIN_BOUND:g}]"
            )
        clean[label] = value + 0.0  # -0.0 -> 0.0, so equal domains print alike
    for axis in ("x", "y"):
        low, high = clean[f"{axis}_min"], clean[f"{axis}_max"]
        if not low < high:
            raise ExpressionError(
                f"domain {axis} range needs {axis}_min < {axis}_max (got {low:g} and {high:g})"
            )
    return ((clean["x_min"], clean["x_max"]), (clean["y_min"], clean["y_max"]))


def _default_start(tree: Expr, domain: tuple[Point, Point]) -> Point:
    """70% of the way from the centre to the upper-left corner, or to another corner (or the
    centre) if f is not finite there: log(x) on [-3, 3]^2 must not start in the nan half."""
    (x_min, x_max), (y_min, y_max) = domain
    cx, cy = (x_min + x_max) / 2, (y_min + y_max) / 2
    hx, hy = 0.7 * (x_max - x_min) / 2, 0.7 * (y_max - y_min) / 2
    candidates = [
        (cx - hx, cy + hy),
        (cx + hx, cy + hy),
        (cx + hx, cy - hy),
        (cx - hx, cy - hy),
        (cx, cy),
    ]
    xs = np.array([c[0] for c in candidates])
    ys = np.array([c[1] for c in candidates])
    with np.errstate(all="ignore"):
        values = np.asarray(_evaluate(tree, xs, ys, np), dtype=np.float64)
    values = np.broadcast_to(values, xs.shape)  # a constant formula gives one number
    finite = [c for c, v in zip(candidates, values) if np.isfinite(v) and abs(v) <= FLOAT32_MAX]
    x0, y0 = (finite or candidates)[0]
    return (round(float(x0), 12), round(float(y0), 12))  # 2.1, not 2.0999999999999996


def _build_surface(tree: Expr, normalized: str, domain: tuple[Point, Point]) -> Surface:
    # The tree is passed in rather than re-parsed from the canonical text: that text can be
    # longer than what was typed ("x^2*3" prints as "x^2 * 3"), and past MAX_LENGTH.
    from surfaces.cost import check_cost  # cost.py reads this module's trees: import late

    check_cost(tree)  # before anything is compiled; ExpressionError if over the budget
    title = normalized if len(normalized) <= 60 else normalized[:57] + "..."
    return Surface(
        key="custom",
        english_title=f"Custom: f(x, y) = {title}",
        fn=compile_expression(tree),
        latex=to_latex(tree),
        domain=domain,
        landmarks=(),
        starts=(_default_start(tree, domain),),
        log_levels=False,
        expression=normalized,
    )


_cache: OrderedDict[tuple[str, tuple[Point, Point]], Surface] = OrderedDict()
_cache_lock = threading.Lock()


def from_expression(text: str, domain: Any = DEFAULT_DOMAIN) -> Surface:
    """The Surface for a user's formula on a domain; ExpressionError if either is refused,
    or if compiling the formula's Hessian would cost more than surfaces/cost.py's budget.

    One object per (canonical formula, domain) while it stays in a bounded LRU cache of
    SURFACE_CACHE_SIZE entries, so jit caches keyed on fn are reused and a student typing
    many formulas cannot grow the server without limit. "x**2-y**2" and "x^2 - y^2" share
    one Surface, whose expression field holds the canonical text "x^2 - y^2".
    """
    tree = parse_expression(text)
    clean_domain = validate_domain(domain)
    key = (to_text(tree), clean_domain)
    # Streamlit serves sessions from threads; the lock keeps "same key -> same object" true.
    with _cache_lock:
        surface = _cache.get(key)
        if surface is None:
            surface = _build_surface(tree, *key)
            _cache[key] = surface
            while len(_cache) > SURFACE_CACHE_SIZE:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
        return surface


def clear_surface_cache() -> None:
    with _cache_lock:
        _cache.clear()


def cached_surface_count() -> int:
    return len(_cache)
