"""Rules for linear algebra."""

import ast

from s2s import runtime as rt
from s2s.rules import _literal_number, defrule, family
from s2s.rules import result_shapes as shapes
from s2s.rules.runtime_rules import defrule_for as helper_rule

family(elementwise=False)

defrule("np.dot(a, b)", real=shapes.real_product, result_shape=shapes.dot_product, methods=("dot",),
        a="s2s.grad_dot_a(g, a, b)", b="s2s.grad_dot_b(g, a, b)",
        a_dot="np.dot(a_dot, b)", b_dot="np.dot(a, b_dot)")
# `a.dot(b)` where a's kind is not known (transforms/desugar.py): a SciPy sparse matrix's own product, np.dot
# otherwise (specialised code calls np.dot where a's shape is known)
helper_rule(rt.dot_method, "dot_method(a, b)", real=shapes.real_product, result_shape=shapes.dot_product,
            linear=("a",), a="s2s.grad_dot_a(g, a, b)", b="s2s.grad_dot_b(g, a, b)", b_dot="s2s.dot_method(a, b_dot)")
defrule("np.matmul(x1, x2)", real=shapes.real_product, safe=True, result_shape=shapes.matrix_product,
        x1="s2s.grad_matmul_a(g, x1, x2)", x2="s2s.grad_matmul_b(g, x1, x2)",
        x1_dot="np.matmul(x1_dot, x2)", x2_dot="np.matmul(x1, x2_dot)")
defrule("np.inner(a, b)", a="s2s.grad_inner(g, a, b, 0)", b="s2s.grad_inner(g, a, b, 1)",
        a_dot="np.inner(a_dot, b)", b_dot="np.inner(a, b_dot)")
# vdot flattens both arguments (of one size) and sums their products: each adjoint is g times the other, reshaped
defrule("np.vdot(a, b)", a="g * np.reshape(b, np.shape(a))", b="g * np.reshape(a, np.shape(b))",
        a_dot="np.vdot(a_dot, b)", b_dot="np.vdot(a, b_dot)")
# vecdot sums the products along `axis` after broadcasting: the adjoint puts g back along it
defrule("np.vecdot(x1, x2, axis=-1)", zero=("axis",), x1="unbroadcast(np.expand_dims(g, axis) * x2, x1)",
        x2="unbroadcast(np.expand_dims(g, axis) * x1, x2)",
        x1_dot="np.vecdot(s2s.broadcast_like(x1_dot, x1), x2, axis=axis)",
        x2_dot="np.vecdot(x1, s2s.broadcast_like(x2_dot, x2), axis=axis)")
defrule("np.outer(a, b)", real=shapes.real_of_two, result_shape=shapes.outer, a="np.reshape(np.dot(g, np.ravel(b)), np.shape(a))",
        b="np.reshape(np.dot(np.ravel(a), g), np.shape(b))",
        a_dot="np.outer(a_dot, b)", b_dot="np.outer(a, b_dot)")
defrule("np.tensordot(a, b, axes=2)", a="s2s.grad_tensordot(g, a, b, axes, 0)",
        b="s2s.grad_tensordot(g, a, b, axes, 1)",
        a_dot="np.tensordot(a_dot, b, axes)", b_dot="np.tensordot(a, b_dot, axes)")
# both forms: np.einsum("ij,jk->ik", a, b) and the sublist form np.einsum(a, [0, 1], b, [1, 2], [0, 2])
defrule("np.einsum(*operands, out=None, dtype=None, order='K', casting='safe', optimize=False)", returns_view="sometimes",
        result_shape=shapes.einsum, real=shapes.real_einsum,
        zero=("out", "dtype", "order", "casting", "optimize"),
        operands="s2s.grad_einsum_parts(g, operands, optimize, active)",
        operands_dot="s2s.einsum_jvp(operands, operands_dot)")
defrule("np.trace(a, offset=0, axis1=0, axis2=1)", methods=("trace",), result_shape=shapes.trace, real=shapes.real_of_one,
        safe=True,
        a="s2s.grad_trace(g, a, offset, axis1, axis2)",
        a_dot="np.trace(a_dot, offset, axis1, axis2)")
# a vector p-norm with a number p other than 1, 2 and inf: (sum |x| ** p) ** (1 / p), slope sign(x) |x| ** (p - 1) / n ** (p - 1)
# (0 at the origin, where it has no derivative, as for the 2-norm)
_p_slope = "np.sign(x) * np.abs(x) ** (ord - 1) * s2s.safe_div(1.0, s2s.keep(ans, x, axis, keepdims) ** (ord - 1))"
_p_norm = defrule("np.linalg.norm(x, ord=None, axis=None, keepdims=False)", register=False,
                  x=f"s2s.expand_reduced(g, x, axis, keepdims) * {_p_slope}",
                  x_dot=f"np.sum(x_dot * {_p_slope}, axis=axis, keepdims=keepdims)")
# the nuclear norm: the sum of the singular values, slope u @ vh (refused where a singular value is 0)
_nuclear = defrule("np.linalg.norm(x, ord=None, axis=None, keepdims=False)", register=False,
                   x="s2s.grad_nuclear(g, x, axis, keepdims)",
                   x_dot="np.sum(x_dot * s2s.grad_nuclear(1.0, x, axis, True), axis=axis, keepdims=keepdims)")

# of one matrix (no axis): u @ vh written with np.linalg.svd itself, so that s2s.hessian goes through svd's tangent
_nuclear_matrix = defrule("np.linalg.norm(x, ord=None, axis=None, keepdims=False)", register=False,
                          x="s2s.nuclear_checked(g, x) * (np.linalg.svd(x, full_matrices=False)[0] @ "
                            "np.linalg.svd(x, full_matrices=False)[2])",
                          x_dot="np.sum(x_dot * (np.linalg.svd(x, full_matrices=False)[0] @ "
                                "np.linalg.svd(x, full_matrices=False)[2]), keepdims=keepdims)")


def _norm_variant(bound):
    """The p-norm or nuclear-norm rule where `ord` is written as such a literal (other orders: grad_norm)."""
    node = bound.get("ord")
    if isinstance(node, ast.Constant) and node.value == "nuc":
        return _nuclear_matrix if bound.get("axis") is None else _nuclear
    p = _literal_number(node) if node is not None else None
    axis = bound.get("axis")
    one_axis = axis is None or isinstance(_literal_number(axis), int) or \
        isinstance(axis, ast.Constant) and axis.value is None
    if p is not None and p not in (0, 1, 2) and 1 < p < float("inf") and one_axis and not isinstance(node, ast.Name):
        return _p_norm  # (`ord=1e400` is inf to NumPy: the max norm, grad_norm's)
    return None


_norm = defrule("np.linalg.norm(x, ord=None, axis=None, keepdims=False)", real=shapes.real_norm,
                result_shape=shapes.reduction(axis_at=2, keywords=("ord", "axis", "keepdims")),
                x="s2s.grad_norm(g, ans, x, ord, axis, keepdims)",
                x_dot="np.sum(x_dot * s2s.grad_norm(1.0, s2s.keep(ans, x, axis, keepdims), x, ord, axis, True), "
                      "axis=axis, keepdims=keepdims)")
_norm.variant = _norm_variant
defrule("np.linalg.inv(a)", result_shape=shapes.square_matrix, real=shapes.real_of_one,
        a="-np.swapaxes(ans, -1, -2) @ g @ np.swapaxes(ans, -1, -2)",
        a_dot="-ans @ a_dot @ ans")
defrule("np.linalg.det(a)", result_shape=shapes.det, real=shapes.real_of_one, safe=True, a="s2s.grad_det(g, ans, a)",
        a_dot="np.sum(s2s.det_adjoint(1.0, ans, a) * a_dot, axis=(-2, -1))")  # (the cofactors: also singular a)
defrule("np.linalg.solve(a, b)", result_shape=shapes.solve, real=shapes.real_of_two,
        a="s2s.grad_solve_a(g, ans, a, b)", b="s2s.grad_solve_b(g, a, b)",
        a_dot="-s2s.solve_uncolumns(np.linalg.solve(a, np.matmul(a_dot, s2s.solve_columns(ans, a, b))), a, b)",
        b_dot="np.linalg.solve(a, b_dot)")
defrule("np.kron(a, b)", a="s2s.grad_kron(g, a, b, 0)", b="s2s.grad_kron(g, a, b, 1)",
        a_dot="np.kron(s2s.broadcast_like(a_dot, a), b)", b_dot="np.kron(a, s2s.broadcast_like(b_dot, b))")
defrule("np.cross(a, b)", a="s2s.grad_cross(g, a, b, 0)", b="s2s.grad_cross(g, a, b, 1)",
        a_dot="s2s.broadcast_like(np.cross(s2s.broadcast_like(a_dot, a), b), ans)",
        b_dot="s2s.broadcast_like(np.cross(a, s2s.broadcast_like(b_dot, b)), ans)")
# pinv(a) = P: dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P where the rank of `a` is full
# (s2s.pinv_full_rank refuses the rest: there pinv jumps); the adjoint is that map transposed
defrule("np.linalg.pinv(a, rcond=1e-15)", zero=("rcond",),
        a="s2s.pinv_full_rank(-np.swapaxes(ans, -1, -2) @ g @ np.swapaxes(ans, -1, -2)"
          " + (np.eye(np.shape(a)[-2]) - a @ ans) @ np.swapaxes(g, -1, -2) @ ans @ np.swapaxes(ans, -1, -2)"
          " + np.swapaxes(ans, -1, -2) @ ans @ np.swapaxes(g, -1, -2) @ (np.eye(np.shape(a)[-1]) - ans @ a), a, rcond)",
        a_dot="s2s.pinv_full_rank(-ans @ s2s.broadcast_like(a_dot, a) @ ans"
              " + ans @ np.swapaxes(ans, -1, -2) @ np.swapaxes(s2s.broadcast_like(a_dot, a), -1, -2)"
              " @ (np.eye(np.shape(a)[-2]) - a @ ans)"
              " + (np.eye(np.shape(a)[-1]) - ans @ a) @ np.swapaxes(s2s.broadcast_like(a_dot, a), -1, -2)"
              " @ np.swapaxes(ans, -1, -2) @ ans, a, rcond)")
# slogdet and det do not raise on a square matrix (singular: sign 0, log|det| -inf; det 0): `safe`
# (slogdet's two items are real floats for a real a: `real`)
defrule("np.linalg.slogdet(a)", structured=True, result_shape=shapes.slogdet, real=shapes.real_of_one, safe=True,
        a="s2s.grad_slogdet(g, a)",
        a_dot="s2s.slogdet_tangent(s2s.broadcast_like(a_dot, a), ans, a)")
# np.linalg.cholesky reads the lower triangle of `a` only: its adjoint (Murray 2016, arXiv:1602.07527) is
# the symmetric one folded onto that triangle, which is what finite differences of the NumPy function see
# (its solves with the factor, by triangular substitution where SciPy is there: s2s.solve_lower)
_chol_s = ("s2s.solve_lower(ans, np.swapaxes(s2s.solve_lower(ans, "
           "np.swapaxes(s2s.tril_half_diagonal(np.swapaxes(ans, -1, -2) @ g), -1, -2), True), -1, -2), True)")
_chol_y = ("s2s.solve_lower(ans, np.swapaxes(s2s.solve_lower(ans, np.swapaxes("
           "np.tril(s2s.broadcast_like(a_dot, a)) + np.swapaxes(np.tril(s2s.broadcast_like(a_dot, a), -1), -1, -2), "
           "-1, -2), False), -1, -2), False)")
defrule("np.linalg.cholesky(a)", result_shape=shapes.square_matrix, real=shapes.real_of_one,
        a=f"s2s.tril_fold({_chol_s})",  # (the symmetric adjoint computed once, folded onto the lower triangle)
        a_dot=f"ans @ (np.tril({_chol_y}) - 0.5 * np.eye(np.shape(ans)[-1]) * {_chol_y})")
# a chain of matrix products (a first 1-d item a row, a last one a column): each item's adjoint is the product
# before it, transposed, times g times the product after it, transposed; the tangent the sum of the chains with one
# item replaced by its tangent (s2s/runtime/linalg.py)
defrule("np.linalg.multi_dot(arrays, out=None)", default_only=("out",), result_shape=shapes.multi_dot,
        real=shapes.real_joined, arrays="s2s.grad_multi_dot(g, arrays)",
        arrays_dot="s2s.multi_dot_tangent(s2s.dense_list(arrays_dot, arrays), arrays)")
helper_rule(rt.grad_multi_dot, "grad_multi_dot(g, arrays)", structured=True, linear=("g",),
            result_shape=shapes.multi_dot_pieces,
            arrays_dot="s2s.grad_multi_dot_dot(g, arrays, s2s.dense_list(arrays_dot, arrays))")
helper_rule(rt.multi_dot_tangent, "multi_dot_tangent(tangents, arrays)", linear=("tangents",),
            arrays_dot="s2s.multi_dot_tangent_dot(tangents, arrays, s2s.dense_list(arrays_dot, arrays))")
# lstsq where a has full column rank: x = (a^T a)^-1 a^T b and the residuals' sums of squares (s2s/runtime/linalg.py);
# the rank is an int, the singular values' adjoint refused; rcond is not differentiated
defrule("np.linalg.lstsq(a, b, rcond=None)", structured=True, zero=("rcond",),
        a="s2s.grad_lstsq(g, ans, a, b, 0)", b="s2s.grad_lstsq(g, ans, a, b, 1)",
        a_dot="s2s.lstsq_tangent(a_dot, 0.0, ans, a, b)", b_dot="s2s.lstsq_tangent(0.0, b_dot, ans, a, b)")
# eigh and svd: the vectors where they are unique (distinct values), refused elsewhere (s2s/runtime/linalg.py)
defrule("np.linalg.eigh(a, UPLO='L')", structured=True, zero=("UPLO",), result_shape=shapes.eigh,
        real=shapes.real_decomposition, a="s2s.grad_eigh(g, ans, a, UPLO)",
        a_dot="s2s.eigh_tangent(s2s.broadcast_like(a_dot, a), ans, UPLO)")
defrule("np.linalg.eigvalsh(a, UPLO='L')", zero=("UPLO",), a="s2s.grad_eigh([g, 0.0], np.linalg.eigh(a, UPLO), a, UPLO)",
        a_dot="s2s.eigh_tangent(s2s.broadcast_like(a_dot, a), np.linalg.eigh(a, UPLO), UPLO)[0]")
# QR of a full-rank matrix (its factors as LAPACK gives them, signs kept where they are smooth); mode 'raw', and q's
# extra columns of mode 'complete' for a tall matrix, refused (s2s/runtime/linalg.py)
defrule("np.linalg.qr(a, mode='reduced')", structured=True, zero=("mode",), result_shape=shapes.qr,
        real=shapes.real_decomposition, a="s2s.grad_qr(g, ans, a, mode)",
        a_dot="s2s.qr_tangent(s2s.broadcast_like(a_dot, a), ans, a, mode)")
# the singular values alone: u @ diag(g) @ vh, written with np.linalg.svd itself so that forward mode over it
# (s2s.hessian) uses svd's own tangent
# hermitian=True decomposes the lower triangle mirrored (s2s.hermitian_read), so the adjoint and tangent are
# those of that matrix, taken back to the lower triangle; a call without it (or with the literal False) reads a itself
_SVD = "np.linalg.svd(a, full_matrices=True, compute_uv=True, hermitian=False)"


def _svd_rule(hermitian: bool, values_only: bool, **facts):
    def read(x):
        return f"s2s.hermitian_read({x}, hermitian)" if hermitian else x

    def back(x):
        return f"s2s.hermitian_read_adjoint({x}, hermitian)" if hermitian else x

    factors = f"np.linalg.svd({read('a')}, full_matrices=False)"
    adjoint = back(f"{factors}[0] @ (np.expand_dims(s2s.check_ties(g, ans, 'singular values of np.linalg.svd'), -1) "
                   f"* {factors}[2])") if values_only else \
        back(f"s2s.grad_svd(g, ans, {read('a')}, full_matrices, compute_uv)")
    return defrule(_SVD, zero=("full_matrices", "compute_uv", "hermitian"), structured=not values_only,
                   a=adjoint, a_dot=f"s2s.svd_tangent({read('s2s.broadcast_like(a_dot, a)')}, ans, {read('a')}, "
                                    "full_matrices, compute_uv)", **facts)


_svd_variants = {(h, v): _svd_rule(h, v, register=False) for h in (False, True) for v in (False, True)}


def _svd_variant(bound):
    def given(name, value):
        node = bound.get(name)
        return isinstance(node, ast.Constant) and node.value is value

    plain = "hermitian" not in bound or given("hermitian", False)
    return _svd_variants[not plain, given("compute_uv", False)]


_svd = _svd_rule(True, False, result_shape=shapes.svd, real=shapes.real_decomposition)
_svd.variant = _svd_variant

helper_rule(rt.grad_inner, "grad_inner(g, a, b, which)",
            a_dot="s2s.grad_inner(g, a_dot, b, which) if which == 1 else 0.0",
            b_dot="s2s.grad_inner(g, a, b_dot, which) if which == 0 else 0.0", linear=("g",))
helper_rule(rt.grad_kron, "grad_kron(g, a, b, which)",
            a_dot="s2s.grad_kron(g, s2s.broadcast_like(a_dot, a), b, which) if which == 1 else 0.0",
            b_dot="s2s.grad_kron(g, a, s2s.broadcast_like(b_dot, b), which) if which == 0 else 0.0", linear=("g",))
helper_rule(rt.grad_cross, "grad_cross(g, a, b, which)",
            a_dot="s2s.grad_cross(g, s2s.broadcast_like(a_dot, a), b, which) if which == 1 else 0.0",
            b_dot="s2s.grad_cross(g, a, s2s.broadcast_like(b_dot, b), which) if which == 0 else 0.0", linear=("g",))
helper_rule(rt.tril_fold, "tril_fold(s)", linear=("s",),
            result_shape=shapes.like(0, 1), real=shapes.real_of_one)
helper_rule(rt.tril_half_diagonal, "tril_half_diagonal(p)", linear=("p",),
            result_shape=shapes.like(0, 1), real=shapes.real_of_one)
helper_rule(rt.pinv_full_rank, "pinv_full_rank(value, a, rcond=1e-15)", linear=("value",))
helper_rule(rt.grad_slogdet, "grad_slogdet(g, a)", structured=True, result_shape=shapes.grad_slogdet,
            a_dot="s2s.grad_slogdet_dot(g, a, a_dot)", linear=("g",))
# (forward over forward mode, which s2s.hessian uses where the gradient code calls helpers through pullbacks)
_slogdet_dot = helper_rule(rt.slogdet_tangent, "slogdet_tangent(t, ans, a)", shape_only=("ans",), structured=True,
                           a_dot="s2s.slogdet_tangent_dot(t, ans, a, a_dot)", linear=("t",))
helper_rule(rt.eigh_tangent, "eigh_tangent(t, ans, UPLO)", structured=True,
            ans_dot="s2s.eigh_tangent_dot(t, ans, ans_dot, UPLO)", linear=("t",))
helper_rule(rt.grad_eigh, "grad_eigh(g, ans, a, UPLO)", shape_only=("a",), structured=True,
            result_shape=shapes.grad_decomposition,
            ans_dot="s2s.grad_eigh_dot(g, ans, ans_dot, UPLO)", linear=("g",))
# (grad_qr and qr_tangent: linear in g and t; ans and a without a tangent, deleted, so that a Hessian through
# np.linalg.qr is refused where the helper rule's default would take them for arguments that only steer)
for _rule in (helper_rule(rt.grad_qr, "grad_qr(g, ans, a, mode)", structured=True, linear=("g",),
                          result_shape=shapes.grad_qr),
              helper_rule(rt.qr_tangent, "qr_tangent(t, ans, a, mode)", structured=True, linear=("t",))):
    del _rule.jvp["ans"], _rule.jvp["a"]
# solve(L, B) or solve(L^T, B) for the lower-triangular factor L (B a matrix: the Cholesky rule's calls): linear in B;
# y = L^-1 B changes by -L^-1 dL y, y = L^-T B by -L^-T dL^T y
helper_rule(rt.solve_lower, "solve_lower(L, B, trans, triangular=False)", linear=("B",), result_shape=shapes.solve_lower,
            real=lambda site: site.real(0) and site.real(1),
            B="s2s.solve_lower(L, g, not trans)",
            L="-(ans @ np.swapaxes(s2s.solve_lower(L, g, False), -1, -2) if trans "
              "else s2s.solve_lower(L, g, True) @ np.swapaxes(ans, -1, -2))",
            L_dot="-s2s.solve_lower(L, (np.swapaxes(L_dot, -1, -2) if trans else L_dot) @ ans, trans)")
helper_rule(rt.hermitian_read, "hermitian_read(a, hermitian)", linear=("a",), result_shape=shapes.like(0, 2))
helper_rule(rt.hermitian_read_adjoint, "hermitian_read_adjoint(g, hermitian)", linear=("g",),
            result_shape=shapes.like(0, 2))
helper_rule(rt.nuclear_checked, "nuclear_checked(g, x)", linear=("g",))
helper_rule(rt.check_ties, "check_ties(g, w, what)", linear=("g",), result_shape=shapes.like(0, 3))
# (grad_svd and the tangent helpers: a varied `ans` or `a` there is refused, so no Hessian through np.linalg.svd)
_svd_rule = helper_rule(rt.grad_svd, "grad_svd(g, ans, a, full_matrices, compute_uv)", structured=True, linear=("g",),
                        result_shape=shapes.grad_decomposition)
del _svd_rule.jvp["ans"], _svd_rule.jvp["a"]
# (linear in g and in the tangents; a, b and ans without a tangent, deleted: a Hessian through np.linalg.lstsq is
# refused, where the helper rule's default would take them for arguments that only steer and drop their terms)
for _rule in (helper_rule(rt.grad_lstsq, "grad_lstsq(g, ans, a, b, which)", linear=("g",)),
              helper_rule(rt.lstsq_tangent, "lstsq_tangent(a_dot, b_dot, ans, a, b)", structured=True,
                          linear=("a_dot", "b_dot"))):
    for _p in ("ans", "a", "b"):
        del _rule.jvp[_p]
