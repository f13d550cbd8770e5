"""The one safe evaluator for gateway conditions, timers, DMN cells and script tasks.

Process definitions are uploaded by administrators, but a definition file must never be a
way to run Python on the server: SpiffWorkflow's own eval/exec is therefore never used.
Expressions are parsed with `ast` and walked by a small interpreter that knows only a
whitelist of node types; everything else is refused by name before anything runs. Size
limits (exponents, repetition, integer digits, container sizes) keep a single expression
from exhausting memory or CPU.
"""

from __future__ import annotations

import ast
import operator
import re
from collections import ChainMap
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import chain
from typing import Any, NoReturn, cast

from workflows.engine import calendar as workcal
from workflows.engine.calendar import WorkCalendar
from workflows.engine.clock import Clock
from workflows.errors import DomainError, ExpressionError

MAX_LENGTH = 2000
MAX_SCRIPT_LENGTH = 20_000
MAX_DEPTH = 50
MAX_EXPONENT = 64
MAX_BASE = 10**6
MAX_REPEAT = 10_000
MAX_STRING = 100_000
MAX_INT_DIGITS = 4300
# Budget for any container the interpreter builds: items plus characters, nested ones
# counted in full, so that [[x] * 10000] * 10000 cannot be built from small pieces.
MAX_WEIGHT = 1_000_000
_INT_LIMIT = 10**MAX_INT_DIGITS

_BUILTINS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
}
FUNCTION_NAMES: frozenset[str] = frozenset(
    {
        "add_workdays",
        "add_months",
        "today",
        "now",
        "end_of_day",
        "days_between",
        "workdays_between",
        *_BUILTINS,
    }
)

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARYOPS: dict[type, Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
    ast.Not: operator.not_,
}
_COMPARISONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_OPERATOR_SYMBOLS = {
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_REFUSED = {
    ast.Attribute: "attribute access is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "list comprehension is not allowed",
    ast.SetComp: "set comprehension is not allowed",
    ast.DictComp: "dict comprehension is not allowed",
    ast.GeneratorExp: "generator expression is not allowed",
    ast.NamedExpr: "assignment expression (:=) is not allowed",
    ast.JoinedStr: "f-string is not allowed",
    ast.FormattedValue: "f-string is not allowed",
    ast.Starred: "starred unpacking is not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}
_STATEMENT_KINDS = {
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.For: "for loop",
    ast.AsyncFor: "for loop",
    ast.While: "while loop",
    ast.If: "if statement",
    ast.FunctionDef: "function definition (def)",
    ast.AsyncFunctionDef: "function definition",
    ast.ClassDef: "class definition",
    ast.With: "with statement",
    ast.AsyncWith: "with statement",
    ast.AugAssign: "augmented assignment",
    ast.AnnAssign: "annotated assignment",
    ast.Delete: "del statement",
    ast.Global: "global statement",
    ast.Nonlocal: "nonlocal statement",
    ast.Try: "try statement",
    ast.Raise: "raise statement",
    ast.Return: "return statement",
    ast.Assert: "assert statement",
    ast.Pass: "pass statement",
    ast.Break: "break statement",
    ast.Continue: "continue statement",
    ast.Match: "match statement",
}


class _LimitExceeded(ExpressionError):
    """A size limit was hit; unlike ordinary runtime errors these are refused at check()."""


@dataclass(frozen=True)
class _Compiled:
    tree: ast.expr
    calls: frozenset[str]


@dataclass(frozen=True)
class _Statement:
    line: int
    target: str | None
    text: str
    compiled: _Compiled


class _Checker:
    """Static validation: whitelisted nodes only; constant sub-trees are folded for limits."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls: set[str] = set()

    def refuse(self, reason: str) -> NoReturn:
        raise ExpressionError(self.text, reason)

    def run(self, node: ast.expr) -> _Compiled:
        if self.visit(node, 1):
            self.fold(node)
        return _Compiled(node, frozenset(self.calls))

    def visit(self, node: ast.AST, depth: int) -> bool:
        """Validate `node`; True when it is a constant expression (no names, no calls)."""
        if depth > MAX_DEPTH:
            self.refuse(f"expression is nested deeper than {MAX_DEPTH} levels")
        if type(node) in _REFUSED:
            self.refuse(_REFUSED[type(node)])
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            self.refuse(f"{type(node).__name__} is not allowed")
        return method(node, depth + 1)

    def group(self, nodes: Iterable[ast.AST | None], depth: int, foldable: bool = True) -> bool:
        present = [n for n in nodes if n is not None]
        flags = [self.visit(n, depth) for n in present]
        if foldable and all(flags):
            return True
        for node, constant in zip(present, flags):
            if constant:
                self.fold(node)
        return False

    def fold(self, node: ast.AST) -> None:
        # Only size limits refuse here; 1/0 is left to fail when (and if) it runs.
        try:
            _Interpreter({}, {}).run(node, self.text)
        except _LimitExceeded:
            raise
        except ExpressionError:
            pass

    def _Constant(self, node: ast.Constant, depth: int) -> bool:
        if node.value is not None and not isinstance(node.value, (str, int, float)):
            self.refuse(f"constant of type {type(node.value).__name__} is not allowed")
        return True

    def _Name(self, node: ast.Name, depth: int) -> bool:
        if node.id.startswith("_"):
            self.refuse(f"name {node.id!r} is not allowed (names starting with '_' are reserved)")
        return False

    def check_operator(self, op: ast.AST, allowed: Mapping[type, Any]) -> None:
        if type(op) not in allowed:
            symbol = _OPERATOR_SYMBOLS.get(type(op), type(op).__name__)
            hint = " (use == or !=)" if type(op) in (ast.Is, ast.IsNot) else ""
            self.refuse(f"operator {symbol!r} is not allowed{hint}")

    def _BinOp(self, node: ast.BinOp, depth: int) -> bool:
        self.check_operator(node.op, _BINOPS)
        return self.group((node.left, node.right), depth)

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> bool:
        self.check_operator(node.op, _UNARYOPS)
        return self.group((node.operand,), depth)

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> bool:
        return self.group(node.values, depth)

    def _Compare(self, node: ast.Compare, depth: int) -> bool:
        for op in node.ops:
            self.check_operator(op, _COMPARISONS)
        return self.group([node.left, *node.comparators], depth)

    def _IfExp(self, node: ast.IfExp, depth: int) -> bool:
        return self.group((node.test, node.body, node.orelse), depth)

    def _List(self, node: ast.List | ast.Tuple | ast.Set, depth: int) -> bool:
        return self.group(node.elts, depth)

    _Tuple = _Set = _List

    def _Dict(self, node: ast.Dict, depth: int) -> bool:
        if any(key is None for key in node.keys):
            self.refuse("dict unpacking (**) is not allowed")
        return self.group([*node.keys, *node.values], depth)

    def _Subscript(self, node: ast.Subscript, depth: int) -> bool:
        return self.group((node.value, node.slice), depth)

    def _Slice(self, node: ast.Slice, depth: int) -> bool:
        return self.group((node.lower, node.upper, node.step), depth)

    def _Call(self, node: ast.Call, depth: int) -> bool:
        if not isinstance(node.func, ast.Name):
            self.visit(node.func, depth)  # names the worse problem first, e.g. a lambda
            self.refuse("only registered functions can be called, by their bare name")
        name = node.func.id
        self._Name(node.func, depth)
        if node.keywords:
            self.refuse(f"keyword arguments are not allowed (function {name!r})")
        self.calls.add(name)
        self.group(node.args, depth, foldable=False)
        return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, KeyError):
        return f"key {exc.args[0]!r} not found" if exc.args else "key not found"
    if isinstance(exc, RecursionError):
        return "value is nested too deeply"
    if isinstance(exc, MemoryError):
        return "out of memory"
    return str(exc) or type(exc).__name__


class _Interpreter:
    """Walks a checked tree. Only ever sees trees that _Checker accepted."""

    def __init__(self, names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]):
        self.names = names
        self.functions = functions
        self.text = ""
        # id -> (value, weight); the value is kept so that its id cannot be reused meanwhile.
        self.weights: dict[int, tuple[Any, int]] = {}

    def run(self, node: ast.AST, text: str) -> Any:
        self.text = text
        try:
            return self.eval(node)
        except DomainError:
            raise
        except Exception as exc:  # noqa: BLE001 - no raw Python error may reach the engine
            raise ExpressionError(text, _reason(exc)) from None

    def fail(self, reason: str) -> NoReturn:
        raise ExpressionError(self.text, reason)

    def limit(self, reason: str) -> NoReturn:
        raise _LimitExceeded(self.text, reason)

    def eval(self, node: ast.AST) -> Any:
        return getattr(self, f"_{type(node).__name__}")(node)

    def weight(self, value: Any) -> int:
        if isinstance(value, str):
            return 1 + len(value)
        if not isinstance(value, (list, tuple, set, frozenset, dict)):
            return 1
        known = self.weights.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        total = 1
        for item in chain.from_iterable(value.items()) if isinstance(value, dict) else value:
            total += self.weight(item)
            if total > MAX_WEIGHT:
                break
        self.weights[id(value)] = (value, total)
        return total

    def sized(self, value: Any) -> Any:
        if self.weight(value) > MAX_WEIGHT:
            self.limit(f"{type(value).__name__} is larger than {MAX_WEIGHT} items and characters")
        return value

    def _Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _Name(self, node: ast.Name) -> Any:
        try:
            return self.names[node.id]
        except KeyError:
            self.fail(f"name {node.id!r} is not defined")

    def _BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.eval(node.left), self.eval(node.right)
        op = type(node.op)
        if op is ast.Pow:
            self.check_power(left, right)
        elif op is ast.Mult:
            self.check_repeat(left, right)
        elif op is ast.Mod and isinstance(left, str):
            self.fail("string formatting with % is not allowed")
        result = _BINOPS[op](left, right)
        if isinstance(result, complex):
            self.fail("the result is a complex number")
        if isinstance(result, int) and abs(result) >= _INT_LIMIT:
            self.limit(f"integer result has more than {MAX_INT_DIGITS} digits")
        if isinstance(result, str) and len(result) > MAX_STRING:
            self.limit(f"string result is longer than {MAX_STRING} characters")
        if isinstance(result, (list, tuple)):
            self.sized(result)
        return result

    def check_power(self, base: Any, exponent: Any) -> None:
        if not all(isinstance(v, (int, float)) for v in (base, exponent)):
            self.fail("** needs numbers")
        if abs(exponent) > MAX_EXPONENT:
            self.limit(f"exponent {exponent} is larger than {MAX_EXPONENT}")
        if abs(base) > MAX_BASE:
            self.limit(f"base of ** is larger than {MAX_BASE}")

    def check_repeat(self, left: Any, right: Any) -> None:
        seq, count = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
        if not isinstance(seq, (str, list, tuple)) or not isinstance(count, int) or count <= 0:
            return
        if count > MAX_REPEAT:
            self.limit(f"repeating a {type(seq).__name__} {count} times (more than {MAX_REPEAT})")
        if isinstance(seq, str) and len(seq) * count > MAX_STRING:
            self.limit(f"string result is longer than {MAX_STRING} characters")
        if not isinstance(seq, str) and len(seq) * count > MAX_REPEAT:
            self.limit(f"{type(seq).__name__} result has more than {MAX_REPEAT} items")
        if self.weight(seq) * count > MAX_WEIGHT:
            self.limit(f"{type(seq).__name__} is larger than {MAX_WEIGHT} items and characters")

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        return _UNARYOPS[type(node.op)](self.eval(node.operand))

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = is_and
        for operand in node.values:
            value = self.eval(operand)
            if bool(value) != is_and:  # and: stop at the first falsy; or: at the first truthy
                return value
        return value

    def _Compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.eval(comparator)
            if not _COMPARISONS[type(op)](left, right):
                return False
            left = right
        return True

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def _List(self, node: ast.List) -> list[Any]:
        return self.sized([self.eval(e) for e in node.elts])

    def _Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return self.sized(tuple(self.eval(e) for e in node.elts))

    def _Set(self, node: ast.Set) -> set[Any]:
        return self.sized({self.eval(e) for e in node.elts})

    def _Dict(self, node: ast.Dict) -> dict[Any, Any]:
        # `**` unpacking (a None key) is refused by the checker before this runs.
        return self.sized(
            {self.eval(cast(ast.expr, k)): self.eval(v) for k, v in zip(node.keys, node.values)}
        )

    def _Subscript(self, node: ast.Subscript) -> Any:
        return self.eval(node.value)[self.eval(node.slice)]

    def _Slice(self, node: ast.Slice) -> slice:
        parts = (node.lower, node.upper, node.step)
        return slice(*(None if p is None else self.eval(p) for p in parts))

    def _Call(self, node: ast.Call) -> Any:
        name = node.func.id  # type: ignore[attr-defined]  # the checker allows only names
        function = self.functions.get(name)
        if function is None:
            self.fail(f"function {name!r} is not registered")
        args = [self.eval(a) for a in node.args]
        try:
            return function(*args)
        except DomainError:
            raise
        except Exception as exc:  # noqa: BLE001 - a function's failure is the expression's
            self.fail(f"function {name!r} failed: {_reason(exc)}")


def _check_tree(node: ast.expr, text: str) -> _Compiled:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(text, f"expression is longer than {MAX_LENGTH} characters")
    return _Checker(text).run(node)


@lru_cache(maxsize=2048)
def _analyse(expression: str) -> _Compiled:
    if len(expression) > MAX_LENGTH:
        raise ExpressionError(expression, f"expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(expression, f"syntax error: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ExpressionError(expression, f"cannot be parsed: {_reason(exc)}") from None
    return _check_tree(tree.body, expression)


def _require_registered(text: str, calls: frozenset[str], registered: Collection[str]) -> None:
    for name in sorted(calls):
        if name not in registered:
            raise ExpressionError(text, f"function {name!r} is not registered")


def _as_text(expression: Any) -> str:
    if not isinstance(expression, str):
        raise ExpressionError(repr(expression), "an expression must be text")
    return expression


def check(expression: str, *, function_names: Collection[str] = FUNCTION_NAMES) -> None:
    """Refuse, with the reason, anything the evaluator would not run."""
    compiled = _analyse(_as_text(expression))
    _require_registered(expression, compiled.calls, function_names)


def constant_value(expression: str) -> tuple[bool, Any]:
    """(True, value) when `expression` reads no task data and calls only pure built-ins (its
    value is known before any instance runs: `"P" + str(5) + "Y"`), else (False, None)."""
    compiled = _analyse(_as_text(expression))
    if not compiled.calls <= _BUILTINS.keys():
        return False, None
    called = {id(node.func) for node in ast.walk(compiled.tree) if isinstance(node, ast.Call)}
    if any(
        isinstance(node, ast.Name) and id(node) not in called for node in ast.walk(compiled.tree)
    ):
        return False, None
    return True, _Interpreter({}, _BUILTINS).run(compiled.tree, expression)


def evaluate(
    expression: str, names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]
) -> Any:
    """Check, then interpret `expression` with `names` as variables and `functions` callable."""
    compiled = _analyse(_as_text(expression))
    _require_registered(expression, compiled.calls, functions)
    return _Interpreter(names, functions).run(compiled.tree, expression)


class _Source:
    """A script's text by line, split once: `ast.get_source_segment` splits the whole
    source again on every call, which made checking a script quadratic in its length."""

    # The same line ends as `ast` (not str.splitlines, which also splits at \f, \v, \x1c…).
    _LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")

    def __init__(self, text: str) -> None:
        self.lines = self._LINE.findall(text)

    def segment(self, node: ast.AST) -> str | None:
        """The text of `node`, as `ast.get_source_segment` gives it (offsets are UTF-8 bytes)."""
        end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
        if end_line is None or end_col is None:
            return None
        first, last = node.lineno - 1, end_line - 1  # type: ignore[attr-defined]
        start = node.col_offset  # type: ignore[attr-defined]
        if first == last:
            return self.lines[first].encode()[start:end_col].decode()
        return "".join(
            [
                self.lines[first].encode()[start:].decode(),
                *self.lines[first + 1 : last],
                self.lines[last].encode()[:end_col].decode(),
            ]
        )


@lru_cache(maxsize=512)
def _analyse_script(script: str) -> tuple[_Statement, ...]:
    if len(script) > MAX_SCRIPT_LENGTH:
        raise ExpressionError(script, f"script is longer than {MAX_SCRIPT_LENGTH} characters")
    try:
        module = ast.parse(script, mode="exec")
    except SyntaxError as exc:
        raise ExpressionError(script, f"syntax error on line {exc.lineno}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ExpressionError(script, f"cannot be parsed: {_reason(exc)}") from None
    statements = []
    source = _Source(script)
    for stmt in module.body:
        text = source.segment(stmt) or script

        def refuse(reason: str, stmt: ast.stmt = stmt, text: str = text) -> NoReturn:
            raise ExpressionError(text, f"line {stmt.lineno}: {reason}")

        target: str | None = None
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1:
                refuse("chained assignment is not allowed")
            node = stmt.targets[0]
            if not isinstance(node, ast.Name):
                kind = {ast.Attribute: "attribute", ast.Subscript: "subscript"}.get(
                    type(node), "tuple"
                )
                refuse(f"{kind} assignment is not allowed (only 'name = expression')")
            if node.id.startswith("_"):
                refuse(f"name {node.id!r} is not allowed (names starting with '_' are reserved)")
            target = node.id
        elif not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            kind = (
                "bare expression"
                if isinstance(stmt, ast.Expr)
                else _STATEMENT_KINDS.get(type(stmt), type(stmt).__name__)
            )
            refuse(f"{kind} is not allowed in a script")
        value = stmt.value  # type: ignore[attr-defined]
        value_text = source.segment(value) or text
        try:
            compiled = _check_tree(value, value_text)
        except ExpressionError as exc:
            refuse(exc.reason)
        statements.append(_Statement(stmt.lineno, target, text, compiled))
    return tuple(statements)


def check_script(script: str, *, function_names: Collection[str] = FUNCTION_NAMES) -> None:
    """Scripts are lines of `name = expression` or a bare registered call, nothing else."""
    for statement in _analyse_script(_as_text(script)):
        _require_registered(statement.text, statement.compiled.calls, function_names)


def execute_script(
    script: str, data: dict[str, Any], functions: Mapping[str, Callable[..., Any]]
) -> None:
    """Run a checked script; `data` is updated only when every line succeeded."""
    statements = _analyse_script(_as_text(script))
    for statement in statements:
        _require_registered(statement.text, statement.compiled.calls, functions)
    assigned: dict[str, Any] = {}
    interpreter = _Interpreter(ChainMap(assigned, data), functions)
    for statement in statements:
        try:
            value = interpreter.run(statement.compiled.tree, statement.text)
        except ExpressionError as exc:
            raise ExpressionError(exc.expression, f"line {statement.line}: {exc.reason}") from exc
        if statement.target is not None:
            assigned[statement.target] = value
    data.update(assigned)


def standard_functions(*, calendar: WorkCalendar, clock: Clock) -> dict[str, Callable[..., Any]]:
    """The registered pure functions; dates travel as ISO strings because task data is JSON."""

    def as_date(value: Any) -> date:
        if isinstance(value, datetime):
            # An aware moment is a local date where the deadlines are; naive is taken as is.
            return value.astimezone(clock.tz).date() if value.tzinfo else value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return (
                    date.fromisoformat(value)
                    if len(value) == 10
                    else as_date(datetime.fromisoformat(value))
                )
            except ValueError:
                pass
            raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)")
        raise TypeError(f"expected a date or an ISO date string, got {type(value).__name__}")

    def as_int(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {type(value).__name__}")
        return value

    def add_workdays(day: Any, n: Any) -> str:
        return calendar.add_workdays(as_date(day), as_int(n)).isoformat()

    def add_months(day: Any, n: Any) -> str:
        return workcal.add_months(as_date(day), as_int(n)).isoformat()

    def today() -> str:
        return clock.today().isoformat()

    def now() -> str:
        return clock.now().astimezone(clock.tz).isoformat()

    def end_of_day(day: Any) -> str:
        """The moment a deadline dated `day` passes: the start of the next local day."""
        return datetime.combine(as_date(day) + timedelta(days=1), time(0), clock.tz).isoformat()

    def days_between(a: Any, b: Any) -> int:
        return (as_date(b) - as_date(a)).days

    def workdays_between(a: Any, b: Any) -> int:
        return calendar.workdays_between(as_date(a), as_date(b))

    functions: dict[str, Callable[..., Any]] = {
        "add_workdays": add_workdays,
        "add_months": add_months,
        "today": today,
        "now": now,
        "end_of_day": end_of_day,
        "days_between": days_between,
        "workdays_between": workdays_between,
        **_BUILTINS,
    }
    return functions
