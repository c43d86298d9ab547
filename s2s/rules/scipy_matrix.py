"""The rule of scipy.linalg.expm (registered only where SciPy is installed): the block-matrix form of
np.linalg.matrix_power's rule (s2s/rules/matrix_functions.py). Its templates call SciPy's expm as
`s2s.matrix_functions.expm`, which is this rule's own function: forward mode over the adjoint
(s2s.hessian) goes through the same rule again.
"""

import scipy.linalg  # noqa: F401 - the signature below names it

from s2s.rules import defrule, family

family(elementwise=False)

_EXPM = "s2s.matrix_functions.expm"
defrule("scipy.linalg.expm(A)",
        A=f"s2s.upper_right({_EXPM}(s2s.block_upper(np.swapaxes(A, -1, -2), g)))",
        A_dot=f"s2s.upper_right({_EXPM}(s2s.block_upper(A, s2s.broadcast_like(A_dot, A))))")
