"""One derivative three ways: automatic (s2s), symbolic (SymPy) and numeric (finite differences).

The lecture (07 自动求导) puts automatic differentiation between the other two: it computes the
derivative *at a value* like numeric differentiation, but exactly, like symbolic differentiation,
because it applies the chain rule to the program instead of to an expression or to samples of f.

    python examples/three_ways.py            # at x = 0.9
    python examples/three_ways.py 2.5        # at another point

prints the code s2s writes, the expression SymPy finds, and every method's value with its error
against the exact derivative evaluated with 40 significant digits.
"""

import sys

import numpy as np

import s2s
from s2s import numeric, symbolic


def f(x):
    return np.exp(np.sin(x)) / (1 + x * x)


def main(x0=0.9):
    print("f(x) = exp(sin(x)) / (1 + x**2)\n")
    print("automatic: the function s2s writes (reverse mode)")
    print(s2s.source(s2s.derivative(f)))
    print("automatic: forward mode (tangent code)")
    print(s2s.source(s2s.derivative(f, mode="forward")))

    sym = symbolic.derivative(f, x0)
    x = sym.program.symbols[0]
    print("symbolic: SymPy's derivative, simplified")
    print("   ", sym.simplified[0], "\n")
    exact = float(sym.simplified[0].evalf(40, subs={x: x0}))  # the reference, to 40 digits, rounded once

    _, tangent = s2s.jvp(f, (x0,), (1.0,))
    rows = [("s2s reverse (grad)", s2s.grad(f)(x0)),
            ("s2s forward (jvp)", tangent),
            ("SymPy, lambdified", sym(x0))]
    for method in numeric.METHODS:
        step = numeric.default_step(method, x0)
        rows.append((f"numeric {method} (h={step:.1e})", numeric.gradient(f, x0, method=method)))
    print(f"f'({x0}) = {exact!r}  (exact, rounded to double)\n")
    print(f"{'method':<32} {'value':>22} {'|error|':>10}")
    for name, value in rows:
        print(f"{name:<32} {float(value):>22.17g} {abs(float(value) - exact):>10.1e}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.9)
