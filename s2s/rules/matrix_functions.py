"""Rules for matrix functions given by power series: np.linalg.matrix_power (scipy.linalg.expm, the
same way, in scipy_matrix.py).

The tangent of f at A in the direction E is the upper-right block of f([[A, E], [0, A]]), and the
adjoint for G that of f([[A^T, G], [0, A^T]]) (s2s/runtime/matrix_functions.py). Both call f itself,
so forward mode over the adjoint (s2s.hessian) uses the same rule again.
"""

from s2s import runtime as rt
from s2s.rules import defrule, family
from s2s.rules.runtime_rules import defrule_for as helper_rule

family(elementwise=False)

_T = "np.swapaxes({}, -1, -2)"
# any integer n (a negative one through the inverse, where NumPy computes it: the same block formula)
# (n=1: a itself, returns_view)
defrule("np.linalg.matrix_power(a, n)", zero=("n",), returns_view="sometimes",
        a=f"s2s.upper_right(np.linalg.matrix_power(s2s.block_upper({_T.format('a')}, g), n))",
        a_dot="s2s.upper_right(np.linalg.matrix_power(s2s.block_upper(a, s2s.broadcast_like(a_dot, a)), n))")
helper_rule(rt.block_upper, "block_upper(a, e)", linear=("a", "e"))
helper_rule(rt.upper_right, "upper_right(m)", linear=("m",))
