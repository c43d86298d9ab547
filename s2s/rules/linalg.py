"""Rules for linear algebra."""

from s2s.rules import defrule, family

family(elementwise=False)

defrule("np.dot(a, b)", real=True, methods=("dot",), a="s2s.grad_dot_a(g, a, b)", b="s2s.grad_dot_b(g, a, b)",
        a_dot="np.dot(a_dot, b)", b_dot="np.dot(a, b_dot)")
defrule("np.matmul(x1, x2)", real=True, safe=True, x1="s2s.grad_matmul_a(g, x1, x2)", x2="s2s.grad_matmul_b(g, x1, x2)",
        x1_dot="np.matmul(x1_dot, x2)", x2_dot="np.matmul(x1, x2_dot)")
defrule("np.inner(a, b)", a="s2s.grad_tensordot(g, a, b, ((-1,), (-1,)), 0)",
        b="s2s.grad_tensordot(g, a, b, ((-1,), (-1,)), 1)",
        a_dot="np.inner(a_dot, b)", b_dot="np.inner(a, b_dot)")
defrule("np.outer(a, b)", a="np.reshape(np.dot(g, np.ravel(b)), np.shape(a))",
        b="np.reshape(np.dot(np.ravel(a), g), np.shape(b))",
        a_dot="np.outer(a_dot, b)", b_dot="np.outer(a, b_dot)")
defrule("np.tensordot(a, b, axes=2)", a="s2s.grad_tensordot(g, a, b, axes, 0)",
        b="s2s.grad_tensordot(g, a, b, axes, 1)",
        a_dot="np.tensordot(a_dot, b, axes)", b_dot="np.tensordot(a, b_dot, axes)")
# both forms: np.einsum("ij,jk->ik", a, b) and the sublist form np.einsum(a, [0, 1], b, [1, 2], [0, 2])
defrule("np.einsum(*operands, out=None, dtype=None, order='K', casting='safe', optimize=False)", returns_view="sometimes",
        zero=("out", "dtype", "order", "casting", "optimize"),
        operands="s2s.grad_einsum_parts(g, operands, optimize)", operands_dot="s2s.einsum_jvp(operands, operands_dot)")
defrule("np.trace(a, offset=0, axis1=0, axis2=1)", methods=("trace",), a="s2s.grad_trace(g, a, offset, axis1, axis2)",
        a_dot="np.trace(a_dot, offset, axis1, axis2)")
defrule("np.linalg.norm(x, ord=None, axis=None, keepdims=False)",
        x="s2s.grad_norm(g, ans, x, ord, axis, keepdims)",
        x_dot="np.sum(x_dot * s2s.grad_norm(1.0, s2s.keep(ans, x, axis, keepdims), x, ord, axis, True), axis=axis, keepdims=keepdims)")
defrule("np.linalg.inv(a)", a="-np.swapaxes(ans, -1, -2) @ g @ np.swapaxes(ans, -1, -2)",
        a_dot="-ans @ a_dot @ ans")
defrule("np.linalg.det(a)", a="s2s.grad_det(g, ans, a)",
        a_dot="ans * np.trace(np.linalg.solve(a, a_dot), axis1=-2, axis2=-1)")
defrule("np.linalg.solve(a, b)", a="s2s.grad_solve_a(g, ans, a, b)", b="s2s.grad_solve_b(g, a, b)",
        a_dot="-np.linalg.solve(a, np.matmul(a_dot, ans))",
        b_dot="np.linalg.solve(a, b_dot)")
