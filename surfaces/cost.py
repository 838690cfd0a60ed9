"""How much compiling a user formula would cost, estimated before anything is compiled.

The length, parenthesis and depth limits in expression.py bound the *text*, not the
work: ``x^y^x^y...`` (195 characters) passed them all and then kept a server core busy
for 35-46 s in critical_points alone. What XLA compiles for a surface is its value, its
gradient and its Hessian (Newton's search, the curvature kernels, the traces), so the cost
of a formula is the size of that program. This module measures it on our own tree,
without JAX:

- the formula is differentiated symbolically, twice, with the rules JAX's own JVPs use
  (d a^b = b a^(b-1) da + log(a) a^b db, d sin u = cos u du, ...), into one graph that
  holds f, f_x, f_y, f_xx, f_xy and f_yy;
- the graph shares what JAX's trace shares (a node's derivative is built once and reused
  wherever it is needed; the value of a^b or exp u is reused by its derivative) but not
  repeated sub-expressions of the text (``x^y * x^y`` counts two powers, as the traced
  program has two; XLA may merge them later, so this can only overestimate);
- sub-expressions free of x and y are one constant, and the zeros and ones that
  differentiation produces are folded, as JAX's symbolic zeros and XLA's simplifier fold
  them (the y-derivative of sin(x) costs nothing); a 0 or 1 the user typed is not
  (0*(x^y^x) is compiled in full, so it is counted in full);
- the cost is the sum of the graph's operations, each weighted by what it costs XLA's CPU
  compiler and the Newton search that runs it: an add 1, a multiply 2, a sin, exp or power
  10-20, since XLA expands each into a polynomial approximation with range reduction.

Why not count the equations of ``jax.make_jaxpr(jax.hessian(fn))``: tracing is itself
adversarial (the 195-character tower's Hessian has ~5,000 equations and took 0.3-2.1 s to
trace on the shared 2-core machine), while this graph takes under 0.1 s for any formula
the parser accepts (the worst found, a product of 99 powers, 0.07 s).

Calibration. Each formula was run in a fresh process, warmed up on another formula, so
that what is timed is what a page pays for a new formula: from_expression,
critical_points (48 x 48 seeds), the Hessian eigen-decomposition at a point and a
1,000-step Adam trace, JAX's caches cold for that formula. The machine's 2 cores were
shared with other jobs (load 4-15), so each figure is the least CPU time (user + system)
of two runs; wall times were 1-7x that. MB is the growth of peak RSS. The weights were
fitted to ~70 formulas (sums of eight of each function, nests, towers, products, the
classic test functions); time rises with cost within a band of about 2x:

    formula                          cost   CPU s    +MB
    x^2 + y^2 + 1 (reference)          14    1.08     10
    Rosenbrock                         45    1.27     17
    Goldstein-Price                   179    2.10     30
    Ackley                            235    1.92     24
    x^y^x^y                           263    2.00     26
    20-term polynomial sum            317    2.95     33
    sin nested 10 deep                391    1.60     22
    ---------------------------- BUDGET = 400 ----
    x^y^x^y^x^y^x^y                   607    2.29     29
    20-term mixed sum                 648    3.49     43
    20-term sum of sin(k x + m y)    1017    3.14     41
    sin nested 30 deep               1191    3.62     35
    x^y tower, 8 pairs               1295    3.45     37
    sin nested 45 deep               1791    6.93     67
    x^y tower, 12 pairs              1983    4.67     64
    product of 40 powers             2404   10.01    113
    x^y tower, 20 pairs              3359    9.17     90
    x^y tower, 49 pairs              8347   reported: 35-46 s in critical_points, +600 MB

The budget. The aim was at most 2 s for any accepted formula, with the classic test
functions and 20-term sums still accepted. Both cannot hold on this machine: the reference formula alone costs
~1.1 s of CPU (most of it compiling the Newton search), Goldstein-Price 2.1 s, the
20-term polynomial sum 3 s. BUDGET = 400 keeps every formula in tests/test_formula_cost.py's
teacher list (the largest, that polynomial sum, at 317) and refuses what costs more; the
worst accepted formulas benchmarks/adversarial_formulas.py generates cost 3-3.5 s of CPU
on this contended machine, against 35 s and more before. Lowering BUDGET trades teacher
formulas for a tighter bound (~5 ms of CPU per unit for the costliest families).
"""
from __future__ import annotations

from collections.abc import Callable

from surfaces.expression import (
    INT_POW_LIMIT,
    children,
    BinOp,
    Call,
    Const,
    Expr,
    ExpressionError,
    Neg,
    Num,
    Var,
)

__all__ = ["BUDGET", "WEIGHTS", "formula_cost", "check_cost"]

# Operation -> cost in units of one add. Set from non-negative least-squares fits to the
# calibration runs (see the docstring), which were noisy (~2x), so rounded and grouped by
# kind of operation; sinh and cosh are twice exp (each is two exps).
WEIGHTS: dict[str, int] = {
    **dict.fromkeys(("add", "sub", "neg", "lt", "select", "sign", "abs"), 1),
    "mul": 2,
    **dict.fromkeys(("div", "ipow"), 4),
    **dict.fromkeys(("sqrt", "rsqrt"), 6),
    **dict.fromkeys(("sin", "cos", "tan", "exp", "tanh"), 10),
    "pow": 12,
    **dict.fromkeys(("log", "arctan", "arcsin", "arccos"), 15),
    **dict.fromkeys(("sinh", "cosh"), 20),
}
BUDGET = 400

# Graph node ids of the three constants and two variables.
_ZERO, _ONE, _CONST, _X, _Y = range(5)


class _Graph:
    """Operations as (op, argument ids), with 0/1 folding and memoised derivatives.

    Nodes of the formula itself are all distinct, as in the traced program. Nodes that
    differentiation creates are shared by (op, arguments): cos(u) serves d/dx and d/dy of
    sin(u) alike, as one reverse pass serves both in jax.grad.
    """

    def __init__(self) -> None:
        self.ops: list[str] = ["zero", "one", "const", "x", "y"]
        self.args: list[tuple[int, ...]] = [(), (), (), (), ()]
        self._exponents: dict[int, int] = {}  # ipow node -> its integer exponent
        self._shared: dict[tuple[object, ...], int] = {}
        self._derivative: dict[tuple[int, int], int] = {}

    def node(self, op: str, *args: int, exponent: int = 0) -> int:
        """A derived node: folded if it can be, else shared with an identical one."""
        folded = self._fold(op, args)
        if folded is not None:
            return folded
        key = (op, exponent, *args)
        n = self._shared.get(key)
        if n is None:
            n = self._shared[key] = self._new(op, args, exponent)
        return n

    def primal(self, op: str, *args: int, exponent: int = 0) -> int:
        """A node of the formula itself: always new, unless it is free of x and y."""
        if all(a <= _CONST for a in args):
            return _CONST
        return self._new(op, args, exponent)

    def _new(self, op: str, args: tuple[int, ...], exponent: int) -> int:
        self.ops.append(op)
        self.args.append(args)
        if op == "ipow":
            self._exponents[len(self.ops) - 1] = exponent
        return len(self.ops) - 1

    def _fold(self, op: str, args: tuple[int, ...]) -> int | None:
        """The existing node op(args) folds to, if any: a zero or one that differentiation
        produced (JAX's symbolic zeros, XLA's algebraic simplifier), or the constant."""
        if op == "mul":
            a, b = args
            if _ZERO in args:
                return _ZERO
            if a == _ONE:
                return b
            if b == _ONE:
                return a
        elif op == "add":
            a, b = args
            if a == _ZERO:
                return b
            if b == _ZERO:
                return a
        elif op == "sub":
            if args[1] == _ZERO:
                return args[0]
        elif op == "div":
            if args[0] == _ZERO:
                return _ZERO
            if args[1] == _ONE:
                return args[0]
        elif op == "neg":
            if args[0] == _ZERO:
                return _ZERO
        elif op == "select":
            if args[1] == args[2]:
                return args[1]
        if all(a <= _CONST for a in args):
            return _CONST
        return None

    def ipow(self, base: int, exponent: int) -> int:
        """A derived base^exponent, exponent an integer (JAX's integer_pow)."""
        if exponent == 0:
            return _CONST
        if exponent == 1:
            return base
        return self.node("ipow", base, exponent=exponent)

    # -- building from the parse tree -------------------------------------------------

    def build(self, tree: Expr) -> int:
        """The graph of f, every node of the tree a node of its own (as JAX evaluates it).
        Iterative post-order, so no tree is too deep for it."""
        results: list[int] = []  # one id per finished subtree, in left-to-right order
        stack: list[tuple[Expr, bool]] = [(tree, False)]
        while stack:
            expr, ready = stack.pop()
            operands = children(expr)
            if operands and not ready:
                stack.append((expr, True))
                stack.extend((child, False) for child in reversed(operands))
                continue
            args = results[len(results) - len(operands):]
            del results[len(results) - len(operands):]
            results.append(self._build_one(expr, args))
        return results[0]

    def _build_one(self, expr: Expr, args: list[int]) -> int:
        if isinstance(expr, (Num, Const)):
            # Never _ZERO or _ONE: JAX compiles 0*(x^y^x) in full, so it must count in full.
            return _CONST
        if isinstance(expr, Var):
            return _X if expr.name == "x" else _Y
        if isinstance(expr, Neg):
            return self.primal("neg", args[0])
        if isinstance(expr, Call):
            if expr.func in ("minimum", "maximum"):
                return self.primal("select", self.primal("lt", *args), *args)
            return self.primal(expr.func, *args)
        assert isinstance(expr, BinOp)
        if expr.op == "^":
            exponent = expr.right
            if _is_int_exponent(exponent):
                k = int(exponent.value)  # type: ignore[union-attr]
                return _CONST if k == 0 else args[0] if k == 1 else self.primal("ipow", args[0], exponent=k)
            return self.primal("pow", *args)
        return self.primal(_BINARY[expr.op], *args)

    # -- derivatives ------------------------------------------------------------------

    def derivative(self, root: int, var: int) -> int:
        """d root / d var (var is _X or _Y), iteratively, sharing every derivative built."""
        memo = self._derivative
        stack: list[tuple[int, bool]] = [(root, False)]
        while stack:
            n, ready = stack.pop()
            if (n, var) in memo:
                continue
            args = self.args[n]
            if not ready and args:
                stack.append((n, True))
                stack.extend((a, False) for a in args if (a, var) not in memo)
                continue
            memo[(n, var)] = self._derive(n, var)
        return memo[(root, var)]

    def _derive(self, n: int, var: int) -> int:
        op, args = self.ops[n], self.args[n]
        if n <= _CONST or op in ("lt", "sign"):
            return _ZERO
        if n in (_X, _Y):
            return _ONE if n == var else _ZERO
        d = [self._derivative[(a, var)] for a in args]
        node = self.node
        a = args[0]
        if op == "add":
            return node("add", d[0], d[1])
        if op == "sub":
            return node("sub", d[0], d[1]) if d[0] != _ZERO else node("neg", d[1])
        if op == "neg":
            return node("neg", d[0])
        if op == "mul":
            return node("add", node("mul", d[0], args[1]), node("mul", a, d[1]))
        if op == "div":
            b = args[1]
            quotient = node("div", d[0], b)
            if d[1] == _ZERO:
                return quotient
            return node("sub", quotient, node("div", node("mul", n, d[1]), b))
        if op == "select":
            return node("select", a, d[1], d[2])
        if op == "ipow":
            k = self._exponents[n]
            return node("mul", node("mul", _CONST, self.ipow(a, k - 1)), d[0])
        if op == "pow":
            b, db = args[1], d[1]
            by_base = node("mul", node("mul", b, node("pow", a, node("sub", b, _ONE))), d[0])
            by_exponent = node("mul", node("mul", node("log", a), n), db)
            return node("add", by_base, by_exponent)
        return node("mul", _CHAIN[op](self, n, a), d[0])


def _is_int_exponent(node: Expr) -> bool:
    """The exponents expression.py compiles as exact repeated multiplication."""
    return isinstance(node, Num) and node.value.is_integer() and abs(node.value) <= INT_POW_LIMIT


_BINARY = {"+": "add", "-": "sub", "*": "mul", "/": "div"}

# op -> f'(u) as a graph node, given the graph, the node n = f(u) and u. These follow JAX's
# JVP rules, which reuse the primal output where they can (exp, tan, tanh, sqrt).
_CHAIN: dict[str, Callable[[_Graph, int, int], int]] = {
    "sin": lambda g, n, u: g.node("cos", u),
    "cos": lambda g, n, u: g.node("neg", g.node("sin", u)),
    "tan": lambda g, n, u: g.node("add", _ONE, g.ipow(n, 2)),
    "exp": lambda g, n, u: n,
    "log": lambda g, n, u: g.node("div", _ONE, u),
    "sqrt": lambda g, n, u: g.node("div", _CONST, n),
    "rsqrt": lambda g, n, u: g.node("mul", _CONST, g.node("div", n, u)),
    "abs": lambda g, n, u: g.node("sign", u),
    "tanh": lambda g, n, u: g.node("sub", _ONE, g.ipow(n, 2)),
    "sinh": lambda g, n, u: g.node("cosh", u),
    "cosh": lambda g, n, u: g.node("sinh", u),
    "arctan": lambda g, n, u: g.node("div", _ONE, g.node("add", _ONE, g.ipow(u, 2))),
    "arcsin": lambda g, n, u: g.node("rsqrt", g.node("sub", _ONE, g.ipow(u, 2))),
    "arccos": lambda g, n, u: g.node("neg", g.node("rsqrt", g.node("sub", _ONE, g.ipow(u, 2)))),
}


def _reachable(graph: _Graph, roots: list[int]) -> set[int]:
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(graph.args[n])
    return seen


def formula_cost(tree: Expr) -> int:
    """Weighted size of f with its gradient and Hessian; see the module docstring."""
    graph = _Graph()
    f = graph.build(tree)
    fx, fy = graph.derivative(f, _X), graph.derivative(f, _Y)
    second = [graph.derivative(fx, _X), graph.derivative(fx, _Y), graph.derivative(fy, _Y)]
    nodes = _reachable(graph, [f, fx, fy, *second])
    return sum(WEIGHTS.get(graph.ops[n], 0) for n in nodes)


def check_cost(tree: Expr) -> int:
    """formula_cost(tree), or ExpressionError if it is over BUDGET. The message holds only
    numbers: it is shown next to the user's text, which other code escapes."""
    cost = formula_cost(tree)
    if cost > BUDGET:
        raise ExpressionError(
            f"this formula is too large to analyse on a shared server "
            f"(cost {cost} > budget {BUDGET}); simplify it"
        )
    return cost
