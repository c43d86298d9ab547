"""s2s: source-to-source automatic differentiation for Python and NumPy.

    import s2s

    @s2s.grad
    def f(x):
        return 2 * np.dot(x, x)

    f(x)            # the gradient, 4 * x
    print(s2s.source(f))   # the Python function s2s wrote
"""

from typing import TYPE_CHECKING

# Everything public loads on first use (PEP 562): `import s2s` costs nothing, and `import s2s.transforms.lower`
# loads that pass alone, not the API, rules and runtime with it.
_PUBLIC = {
    "s2s.api": ("checkpoint", "defjvp", "defvjp", "derivative", "elementwise_grad", "grad", "hessian", "hvp", "jacfwd",
                "jacobian", "jacrev", "jvp", "source", "value_and_grad", "vjp"),
    "s2s.custom": ("custom_jvp", "custom_vjp", "primitive"),
    "s2s.errors": ("NoDerivativeRuleError", "NonScalarOutputError", "S2SError", "SourceUnavailableError",
                   "UnsupportedSyntaxError"),
    "s2s.pytree": ("flatten", "flatten_func"),
    "s2s.runtime": ("stop_gradient",),
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}
_SUBMODULES = ("symbolic", "numeric", "graph")

if TYPE_CHECKING:  # what type checkers and IDEs see
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
    from s2s.custom import custom_jvp, custom_vjp, primitive
    from s2s.errors import (
        NoDerivativeRuleError,
        NonScalarOutputError,
        S2SError,
        SourceUnavailableError,
        UnsupportedSyntaxError,
    )
    from s2s.pytree import flatten, flatten_func
    from s2s.runtime import stop_gradient

__version__ = "0.1.0"

# the snapshot of NumPy and math that tells a replaced np.cos (s2s/patches.py): NumPy and math are imported
# now; s2s's own modules are not loaded while a name is replaced
from s2s import patches as _patches  # noqa: E402

_patches.install()

__all__ = [
    "grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacfwd", "jacrev", "elementwise_grad", "hessian", "hvp",
    "derivative", "source", "stop_gradient", "defvjp", "defjvp", "custom_vjp", "custom_jvp", "primitive", "checkpoint", "flatten",
    "flatten_func",
    "S2SError", "UnsupportedSyntaxError", "NoDerivativeRuleError", "SourceUnavailableError",
    "NonScalarOutputError", "__version__",
]


def __getattr__(name):
    import importlib
    module = _HOME.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # found once, a plain attribute from then on
        return value
    if name in _SUBMODULES:  # the SymPy contrast, numeric differences and graphs
        return importlib.import_module(f"s2s.{name}")
    raise AttributeError(f"module 's2s' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_HOME) | set(_SUBMODULES))
