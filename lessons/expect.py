"""A lesson's expectations: small statements a machine checks against a page's results.

A lesson file is text a teacher wrote, so it is parsed here against a grammar, never
handed to eval:

    expectation := sum [comparison sum]          (no comparison: the value must be true)
    sum         := product (("+" | "-") product)*
    product     := unary (("*" | "/") unary)*
    unary       := ["not" | "-"] atom
    atom        := NUMBER | STRING | "true" | "false" | FACT | "(" sum ")"
    comparison  := "<" | "<=" | ">" | ">=" | "==" | "!="
    FACT        := a name from the page's facts (lessons/facts.py), e.g. gd.diverged,
                   adam.steps_to_tolerance, point.kind, test_acc, grad_ratio

Examples: ``gd.diverged``, ``point.kind == "saddle"``, ``test_acc < 0.75``,
``adam.steps_to_tolerance < gd.steps_to_tolerance``, ``grad_ratio < 1e-3``.

Numbers compare as floats; a fact that is undefined for a run (a step never reached) is
infinity, so "reached sooner" reads naturally. Strings compare only with ``==`` and ``!=``.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Union

Value = Union[float, bool, str]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<string>"[^"\\]*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    | (?P<op><=|>=|==|!=|[<>()+\-*/])
    )""", re.VERBOSE)
COMPARISONS: dict[str, Callable[[object, object], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
MAX_LENGTH = 200


class ExpectationError(ValueError):
    """The text is not an expectation (reason in English for logs; ``key`` and ``params``
    for the catalog's lessons.error.* messages)."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(f"{key} {params}")
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Node:
    op: str  # "num", "str", "fact", "not", "neg", or an operator
    args: tuple = ()


def _tokens(text: str) -> list[tuple[str, str]]:
    out, i = [], 0
    text = text.rstrip()
    while i < len(text):
        m = _TOKEN.match(text, i)
        if not m or m.end() == i:
            raise ExpectationError("lessons.error.expect_syntax", at=text[i:i + 12].strip())
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        i = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise ExpectationError("lessons.error.expect_long", limit=MAX_LENGTH)
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpectationError("lessons.error.expect_syntax", at="")
        self.i += 1
        return token

    def expectation(self) -> Node:
        left = self.sum()
        token = self.peek()
        if token and token[0] == "op" and token[1] in COMPARISONS:
            self.take()
            left = Node(token[1], (left, self.sum()))
        if self.peek() is not None:
            raise ExpectationError("lessons.error.expect_syntax", at=self.peek()[1])
        return left

    def sum(self) -> Node:
        node = self.product()
        while (token := self.peek()) and token in (("op", "+"), ("op", "-")):
            self.take()
            node = Node(token[1], (node, self.product()))
        return node

    def product(self) -> Node:
        node = self.unary()
        while (token := self.peek()) and token in (("op", "*"), ("op", "/")):
            self.take()
            node = Node(token[1], (node, self.unary()))
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token == ("name", "not"):
            self.take()
            return Node("not", (self.unary(),))
        if token == ("op", "-"):
            self.take()
            return Node("neg", (self.unary(),))
        return self.atom()

    def atom(self) -> Node:
        kind, text = self.take()
        if kind == "number":
            return Node("num", (float(text),))
        if kind == "string":
            return Node("str", (text[1:-1],))
        if kind == "name":
            if "__" in text:  # never a fact's name; refused rather than looked up
                raise ExpectationError("lessons.error.expect_syntax", at=text)
            if text in ("true", "false"):
                return Node("num", (1.0 if text == "true" else 0.0,))
            return Node("fact", (text,))
        if text == "(":
            node = self.sum()
            if self.take() != ("op", ")"):
                raise ExpectationError("lessons.error.expect_syntax", at=")")
            return node
        raise ExpectationError("lessons.error.expect_syntax", at=text)


@dataclass(frozen=True)
class Expectation:
    text: str
    tree: Node

    @classmethod
    def parse(cls, text: str) -> Expectation:
        return cls(text, _Parser(text).expectation())

    def facts(self) -> set[str]:
        """Every fact name the expectation reads."""
        out: set[str] = set()

        def walk(n: Node) -> None:
            if n.op == "fact":
                out.add(n.args[0])
            elif n.op not in ("num", "str"):
                for a in n.args:
                    walk(a)

        walk(self.tree)
        return out

    def holds(self, facts: Mapping[str, Value]) -> bool:
        """Whether it is true of these facts (every name must be among them)."""
        return bool(_value(self.tree, facts))


def _number(v: Value) -> float:
    if isinstance(v, str):
        raise ExpectationError("lessons.error.expect_string")
    return float(v)


def _value(n: Node, facts: Mapping[str, Value]) -> Value:
    if n.op in ("num", "str"):
        return n.args[0]
    if n.op == "fact":
        v = facts[n.args[0]]
        return v if isinstance(v, str) else float(v)
    if n.op == "not":
        return not _value(n.args[0], facts)
    if n.op == "neg":
        return -_number(_value(n.args[0], facts))
    a, b = (_value(x, facts) for x in n.args)
    if n.op in COMPARISONS:
        if isinstance(a, str) or isinstance(b, str):
            if n.op not in ("==", "!="):
                raise ExpectationError("lessons.error.expect_string")
            return COMPARISONS[n.op](a, b)
        return COMPARISONS[n.op](_number(a), _number(b))
    a, b = _number(a), _number(b)
    if n.op == "/":
        return a / b if b != 0 else math.copysign(math.inf, a) if a != 0 else math.nan
    return {"+": operator.add, "-": operator.sub, "*": operator.mul}[n.op](a, b)
