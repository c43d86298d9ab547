"""Rules for the runtime helpers that desugared and generated code calls."""

from s2s import runtime
from s2s.rules import defrule_for, nondifferentiable

defrule_for(runtime.as_sequence, "as_sequence(x)", x="g", x_dot="x_dot")
defrule_for(runtime.astype, "astype(x, dtype)", x="g if s2s.is_float_dtype(dtype) else 0.0",
            x_dot="x_dot if s2s.is_float_dtype(dtype) else 0.0")
defrule_for(runtime.item, "item(x, *index)", x="s2s.item_grad(g, x, index)", x_dot="s2s.item(x_dot, *index)")
defrule_for(runtime.stop_gradient, "stop_gradient(x)")
del nondifferentiable
