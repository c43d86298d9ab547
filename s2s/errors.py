"""Errors raised by s2s. Each one points at the user's source line."""

from __future__ import annotations


class S2SError(Exception):
    """Base class of every error s2s raises on purpose.

    The message reads: what went wrong, where (file, line and column), the source line with a
    caret under the offending spot, and a hint on what to do instead.
    """

    default_hint: str | None = None  # used when the raiser gives no hint of its own

    def __init__(self, message: str, *, filename: str | None = None, lineno: int | None = None,
                 col: int | None = None, line: str | None = None, hint: str | None = None):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.col = col
        self.line = line
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.filename is not None and self.lineno is not None:
            where = f'  File "{self.filename}", line {self.lineno}'
            if self.col is not None:
                where += f", column {self.col + 1}"
            parts.append(where)
            if self.line:
                stripped = self.line.rstrip("\n")
                indent = len(stripped) - len(stripped.lstrip())
                parts.append("    " + stripped.strip())
                if self.col is not None and self.col >= indent:
                    parts.append("    " + " " * (self.col - indent) + "^")
        if self.hint:
            parts.append("Hint: " + self.hint)
        return "\n".join(parts)


class UnsupportedSyntaxError(S2SError, SyntaxError):
    """A construct s2s cannot differentiate correctly."""

    default_hint = ("rewrite this part without the construct; wrap a value that needs no derivative in "
                    "s2s.stop_gradient(...); or move the code into a function of its own and give that "
                    "function a derivative rule with s2s.defvjp")

    def __str__(self) -> str:  # SyntaxError would otherwise print only msg
        return self._render()


class NoDerivativeRuleError(S2SError, TypeError):
    """A call to a function that has neither source nor a derivative rule."""

    default_hint = ("register a rule with s2s.defvjp(func, \"x\", x=\"g * ...\"), or wrap the value in "
                    "s2s.stop_gradient(...) if no derivative should flow through it")


class SourceUnavailableError(S2SError, TypeError):
    """The function's source code cannot be found (built with exec, a C function, ...)."""


class NonScalarOutputError(S2SError, TypeError):
    """`grad` was asked for the gradient of a function whose output is not a scalar."""

    default_hint = "use s2s.vjp(f, ...) for a vector-Jacobian product, or reduce the output first (np.sum(y))"


class NotDifferentiableArgumentError(S2SError, TypeError):
    """The argument to differentiate with respect to is not a number, an array or a container of them."""


class NotCompilableError(S2SError, TypeError):
    """`s2s.grad(f, compile="strict")`: a construct of the derivative that numba cannot compile (s2s/compiled.py)."""

    default_hint = "call s2s.grad(f) without compile=..., which runs the NumPy code"


class CustomRuleError(S2SError, TypeError, ValueError):
    """A derivative rule written as Python functions (s2s.custom_vjp, custom_jvp, defvjp) returned something
    s2s cannot use: a cotangent of another shape than its argument, too few cotangents, a fwd whose output
    is not the function's. (A TypeError and a ValueError too, as these were before.)"""

    default_hint = "return one cotangent per differentiable argument, each of that argument's shape (or None for zero)"


class WrtError(S2SError, IndexError, ValueError):
    """`wrt=` (argnums) names no parameter of the function: an index out of range or an unknown name.
    (An IndexError or ValueError too, as it was before.)"""


class ShapeMismatchError(S2SError, ValueError):
    """A tangent (jvp, hvp's vector) or a cotangent (a vjp's pullback) whose shape is not that of the value it
    goes with. (A ValueError too, as NumPy's broadcasting error was.)"""
