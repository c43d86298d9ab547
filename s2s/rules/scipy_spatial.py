"""Rules for scipy.spatial.distance (registered only where SciPy is installed).

cdist(XA, XB, metric) for the squared Euclidean, Euclidean and city-block distances between the rows of two 2-d
arrays: each distance's adjoint goes to its two rows (s2s/runtime/scipy_helpers.py `grad_cdist`). A Euclidean or
city-block distance is not differentiable where it is 0 (or, city-block, where two coordinates are equal): s2s
takes the zero subgradient there, as for np.abs at 0 (a kernel matrix's diagonal, `cdist(X, X)`). Other metrics,
a callable metric, `out=` and the metrics' keywords are refused. Hessians go through the adjoint's own tangent
(`grad_cdist_dot`); forward mode over forward mode through cdist is refused.
"""

import scipy.spatial.distance  # noqa: F401 - the signature below names it

from s2s.rules import defrule, family
from s2s.rules import result_shapes as shapes
from s2s.rules.runtime_rules import defrule_for
from s2s.runtime import scipy_helpers as sh

family(elementwise=False)

H = "s2s.scipy_helpers."
defrule("scipy.spatial.distance.cdist(XA, XB, metric='euclidean', out=None)", zero=("metric", "out"),
        default_only=("out",), choices={"metric": (sh.known_metric, sh.CDIST_HINT)}, result_shape=shapes.cdist,
        real=True,  # (SciPy gives float64 distances)
        XA=f"{H}grad_cdist(g, ans, XA, XB, metric, 0)", XB=f"{H}grad_cdist(g, ans, XA, XB, metric, 1)",
        XA_dot=f"{H}cdist_tangent(XA_dot, 0.0, ans, XA, XB, metric)",
        XB_dot=f"{H}cdist_tangent(0.0, XB_dot, ans, XA, XB, metric)")

# the adjoint: linear in g, its tangent in the distances and the arrays grad_cdist_dot's (s2s.hessian goes
# through it); cdist_tangent linear in the tangents, with no tangent in the rest (forward over forward mode through
# cdist is refused where the helper rule's default would take them for arguments that only steer)
_moved = {"XA_dot": "0.0, XA, XB, XA_dot, 0.0", "XB_dot": "0.0, XA, XB, 0.0, XB_dot",
          "ans_dot": "ans_dot, XA, XB, 0.0, 0.0"}
defrule_for(sh.grad_cdist, "grad_cdist(g, ans, XA, XB, metric, which)", linear=("g",),
            **{p: f"{H}grad_cdist_dot(g, ans, {args}, metric, which)" for p, args in _moved.items()})
_tangent = defrule_for(sh.cdist_tangent, "cdist_tangent(XA_dot, XB_dot, ans, XA, XB, metric)",
                       linear=("XA_dot", "XB_dot"))
for _name in ("ans", "XA", "XB"):
    _tangent.jvp.pop(_name, None)
