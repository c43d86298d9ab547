"""Rules for scipy.signal's convolutions and correlations of real arrays of any rank (registered only where SciPy
is installed): convolve, correlate, fftconvolve, oaconvolve, convolve2d and correlate2d, in modes 'full', 'valid'
and 'same'. Each result is a window of the 'full' one, bilinear in the two arrays; each adjoint is the full
result's adjoint correlated with the other array (s2s/runtime/scipy_helpers.py `grad_signal`). convolve2d's and
correlate2d's boundary must be 'fill' with 0, and fftconvolve's and oaconvolve's `axes` None (refused otherwise).
"""

import scipy.signal  # noqa: F401 - the signatures below name it

from s2s.rules import defrule, family
from s2s.rules.runtime_rules import defrule_for
from s2s.runtime import scipy_helpers as sh

family(elementwise=False)

H = "s2s.scipy_helpers."
_FORMS = {  # name: (its signature's parameters after in1 and in2, those passed on to grad_signal)
    "convolve": ("mode='full', method='auto'", ""),
    "correlate": ("mode='full', method='auto'", ""),
    "fftconvolve": ("mode='full', axes=None", ", axes=axes"),
    "oaconvolve": ("mode='full', axes=None", ", axes=axes"),
    "convolve2d": ("mode='full', boundary='fill', fillvalue=0", ", boundary, fillvalue"),
    "correlate2d": ("mode='full', boundary='fill', fillvalue=0", ", boundary, fillvalue"),
}
for _name, (_params, _passed) in _FORMS.items():
    _rest = ", ".join(p.split("=")[0] for p in _params.split(", ")[1:])
    defrule(f"scipy.signal.{_name}(in1, in2, {_params})", zero=tuple(p.split("=")[0] for p in _params.split(", ")),
            in1=f"{H}grad_signal(g, in1, in2, mode, 0, '{_name}'{_passed})",
            in2=f"{H}grad_signal(g, in1, in2, mode, 1, '{_name}'{_passed})",
            # (in1's tangent with the values outside it zeros: a fillvalue's part does not move with in1)
            in1_dot=f"{H}{_name}(s2s.broadcast_like(in1_dot, in1), in2, mode, {_rest.replace('fillvalue', '0')})",
            in2_dot=f"{H}{_name}(in1, s2s.broadcast_like(in2_dot, in2), mode, {_rest})")

# the adjoints are bilinear: each one's tangent in the other array is the same helper
defrule_for(sh.grad_signal, "grad_signal(g, a, v, mode, which, kind, boundary='fill', fillvalue=0, axes=None)",
            a_dot=f"{H}grad_signal(g, s2s.broadcast_like(a_dot, a), v, mode, which, kind, boundary, fillvalue, axes) "
                  "if which == 1 else 0.0",
            v_dot=f"{H}grad_signal(g, a, s2s.broadcast_like(v_dot, v), mode, which, kind, boundary, fillvalue, axes) "
                  "if which == 0 else 0.0",
            linear=("g",))
