"""Rules for Python's arithmetic operators (named as in the `ast` module)."""

from s2s.rules import defrule, family, nondifferentiable, power_rules

# `+`, `*`, ... broadcast their operands (`@` says otherwise below); a tangent is written only where it is not
# the adjoint with g renamed
family(elementwise=True, tangent_from_adjoint=True)

defrule("add(x, y)", x="unbroadcast(g, x)", y="unbroadcast(g, y)",
        x_dot="x_dot", y_dot="y_dot", operator=True)
defrule("sub(x, y)", x="unbroadcast(g, x)", y="unbroadcast(-g, y)",
        x_dot="x_dot", y_dot="-y_dot", operator=True)
defrule("mult(x, y)", x="unbroadcast(g * y, x)", y="unbroadcast(g * x, y)",
        x_dot="x_dot * y", y_dot="x * y_dot", operator=True)
defrule("div(x, y)", x="unbroadcast(g / y, x)", y="unbroadcast(-g * ans / y, y)",
        x_dot="x_dot / y", y_dot="-y_dot * ans / y", operator=True)
power_rules("pow(x, y)", "x", "y", operator=True, y="unbroadcast(g * ans * np.log(np.where(x > 0, x, 1)), y)",
            y_dot="y_dot * ans * np.log(np.where(x > 0, x, 1))")
defrule("matmul(x, y)", elementwise=False, x="s2s.grad_matmul_a(g, x, y)", y="s2s.grad_matmul_b(g, x, y)",
        x_dot="x_dot @ y", y_dot="x @ y_dot", operator=True)
defrule("mod(x, y)", x="unbroadcast(g, x)", y="unbroadcast(-g * np.floor(x / y), y)",
        x_dot="x_dot", y_dot="-y_dot * np.floor(x / y)", operator=True)
# `+` and `*` where an operand may be a list or tuple (transforms/sequences.py): concatenation and repetition
# when they are, arithmetic otherwise; the helpers look at the operands
defrule("add_seq(x, y)", operator=True, elementwise=False, structured=True,
        x="s2s.grad_add_seq(g, x, y, 0)", y="s2s.grad_add_seq(g, x, y, 1)",
        x_dot="s2s.add_seq_tangent(x_dot, 0.0, x, y, ans)", y_dot="s2s.add_seq_tangent(0.0, y_dot, x, y, ans)")
defrule("mult_seq(x, y)", operator=True, elementwise=False, structured=True,
        x="s2s.grad_mult_seq(g, x, y, 0)", y="s2s.grad_mult_seq(g, x, y, 1)",
        x_dot="s2s.mult_seq_tangent(x_dot, x, y, 0)", y_dot="s2s.mult_seq_tangent(y_dot, x, y, 1)")
defrule("usub(x)", x="-g", operator=True)
defrule("uadd(x)", x="g", operator=True)
# `|` merges dicts ({"a": x} | {"b": y}): the right operand wins a shared key; on integers and booleans it has no
# derivative (the helpers give none there)
defrule("bitor(x, y)", operator=True, elementwise=False, structured=True,
        x="s2s.grad_bitor(g, x, y, 0)", y="s2s.grad_bitor(g, x, y, 1)",
        x_dot="s2s.bitor_tangent(x_dot, 0.0, x, y)", y_dot="s2s.bitor_tangent(0.0, y_dot, x, y)")
nondifferentiable("floordiv(x, y)", "not_(x)", "invert(x)", "compare(x, y)",
                  "bitand(x, y)", "bitxor(x, y)", "lshift(x, y)", "rshift(x, y)",
                  operator=True)
