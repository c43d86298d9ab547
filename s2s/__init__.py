"""s2s: source-to-source automatic differentiation for Python and NumPy.

    import s2s

    @s2s.grad
    def f(x):
        return 2 * np.dot(x, x)

    f(x)            # the gradient, 4 * x
    print(s2s.source(f))   # the Python function s2s wrote
"""

from s2s.api import (
    checkpoint,
    defjvp,
    defvjp,
    derivative,
    elementwise_grad,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    source,
    value_and_grad,
    vjp,
)
from s2s.custom import custom_jvp, custom_vjp
from s2s.errors import (
    NoDerivativeRuleError,
    NonScalarOutputError,
    S2SError,
    SourceUnavailableError,
    UnsupportedSyntaxError,
)
from s2s.pytree import flatten
from s2s.runtime import stop_gradient

__version__ = "0.1.0"

__all__ = [
    "grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacfwd", "jacrev", "elementwise_grad", "hessian", "hvp",
    "derivative", "source", "stop_gradient", "defvjp", "defjvp", "custom_vjp", "custom_jvp", "checkpoint", "flatten",
    "S2SError", "UnsupportedSyntaxError", "NoDerivativeRuleError", "SourceUnavailableError",
    "NonScalarOutputError", "__version__",
]


def __getattr__(name):
    # the SymPy contrast, numeric differences and graphs load on first use: `import s2s` stays light
    if name in ("symbolic", "numeric", "graph"):
        import importlib
        return importlib.import_module(f"s2s.{name}")
    raise AttributeError(f"module 's2s' has no attribute {name!r}")
