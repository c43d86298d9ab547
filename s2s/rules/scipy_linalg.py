"""Rules for scipy.linalg, and the tangent rules of the helpers s2s/runtime/scipy_helpers.py adds
(registered only where SciPy is installed).

solve_triangular reads one triangle of `a` (without its diagonal where `unit_diagonal`), cho_factor
reads one triangle of its argument and cho_solve the factor's triangle of `c`: each adjoint is zero
outside what is read, as finite differences of SciPy's own functions see it. Matrices are 2-d.
`overwrite_a=True` / `overwrite_b=True` let SciPy write into the argument: refused (`default_only`).
"""

import ast
import re

import numpy as np
import scipy.integrate  # noqa: F401 - the signatures below name them
import scipy.linalg  # noqa: F401

import s2s.rules.linalg  # noqa: F401 - np.linalg.cholesky's rule, read below
from s2s.rules import defrule, family, lookup
from s2s.rules.runtime_rules import defrule_for
from s2s.rules.signal import TRAPEZOID
from s2s.runtime import scipy_helpers as sh

family(elementwise=False)

H = "s2s.scipy_helpers."
_ST = "trans=trans, lower=lower, unit_diagonal=unit_diagonal"
_BACK = f"{H}solve_triangular(a, g, trans={H}flip_trans(trans), lower=lower, unit_diagonal=unit_diagonal)"
defrule("scipy.linalg.solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, "
        "check_finite=True)", zero=("trans", "lower", "unit_diagonal", "overwrite_b", "check_finite"),
        default_only=("overwrite_b",),
        b=_BACK, a=f"{H}tri_outer({_BACK}, ans, trans, lower, unit_diagonal)",
        b_dot=f"{H}solve_triangular(a, b_dot, {_ST})",
        a_dot=f"-{H}solve_triangular(a, {H}tri_apply(a_dot, ans, trans, lower, unit_diagonal), {_ST})")
# x = solve_banded((l, u), ab, b) solves A x = b for the banded A that ab holds by diagonals: b's adjoint solves
# with A^T (whose diagonals band_transpose lays out), ab's is -b_bar x^T on the band
_BB = f"{H}solve_banded({H}band_flip(l_and_u), {H}band_transpose(ab, l_and_u), g)"
defrule("scipy.linalg.solve_banded(l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True)",
        zero=("l_and_u", "overwrite_ab", "overwrite_b", "check_finite"), default_only=("overwrite_ab", "overwrite_b"),
        b=_BB, ab=f"-{H}band_outer({_BB}, ans, l_and_u)", b_dot=f"{H}solve_banded(l_and_u, ab, b_dot)",
        ab_dot=f"-{H}solve_banded(l_and_u, ab, {H}band_matvec(ab_dot, ans, l_and_u))")
# X = sqrtm(A) solves X X = A: dX solves X dX + dX X = dA
defrule("scipy.linalg.sqrtm(A)", A=f"{H}solve_sylvester(np.transpose(ans), np.transpose(ans), g)",
        A_dot=f"{H}solve_sylvester(ans, ans, A_dot)")
# X solves a X + X b = q
defrule("scipy.linalg.solve_sylvester(a, b, q)",
        q=f"{H}solve_sylvester(np.transpose(a), np.transpose(b), g)",
        a=f"-{H}solve_sylvester(np.transpose(a), np.transpose(b), g) @ np.transpose(ans)",
        b=f"-np.transpose(ans) @ {H}solve_sylvester(np.transpose(a), np.transpose(b), g)",
        q_dot=f"{H}solve_sylvester(a, b, q_dot)", a_dot=f"-{H}solve_sylvester(a, b, a_dot @ ans)",
        b_dot=f"-{H}solve_sylvester(a, b, ans @ b_dot)")
# cho_factor returns the pair (c, lower); cho_solve takes it. With L the lower factor of the symmetric matrix S
# the read triangle stands for (cho_lower) and L_bar its adjoint, S_bar = L^-T Phi(L^T L_bar) L^-1 (symmetrised
# by cho_read); cho_solve's A = L L^T has the adjoint -A^-1 g x^T, which cho_c_adjoint takes to L's triangle.
_L = f"{H}cho_lower(ans[0], lower)"
_Y = f"{H}solve_triangular({_L}, {H}phi(np.transpose({_L}) @ {H}cho_lower({H}first(g), lower)), trans=1, lower=True)"
_SBAR = f"np.transpose({H}solve_triangular({_L}, np.transpose({_Y}), trans=1, lower=True))"
defrule("scipy.linalg.cho_factor(a, lower=False, overwrite_a=False, check_finite=True)", structured=True,
        zero=("lower", "overwrite_a", "check_finite"), default_only=("overwrite_a",),
        a=f"{H}cho_read({_SBAR}, lower) + {H}cho_rest({H}first(g), lower)",
        a_dot=f"{H}cho_pack({_L} @ {H}phi({H}solve_triangular({_L}, np.transpose({H}solve_triangular({_L}, "
              f"{H}cho_sym(a_dot, lower), lower=True)), lower=True)), a_dot, lower)")
# (b's tangent is its adjoint with g renamed: A^-1 is its own transpose)
defrule("scipy.linalg.cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True)", structured=True,
        zero=("overwrite_b", "check_finite"), default_only=("overwrite_b",), tangent_from_adjoint=True,
        c_and_lower=f"{H}cho_c_adjoint({H}neg_outer({H}cho_solve(c_and_lower, g), ans), c_and_lower[0], c_and_lower[1])",
        b=f"{H}cho_solve(c_and_lower, g)",
        c_and_lower_dot=f"-{H}cho_solve(c_and_lower, {H}cho_a_dot({H}first(c_and_lower_dot), c_and_lower[0], "
                        "c_and_lower[1]) @ ans)")

# y = odeint(func, y0, t, args): adjoints for y0 and args by the adjoint method (no tangents; t is not
# differentiated, and a func that depends on the differentiated values is refused: it has no adjoint).
# full_output, tfirst and the other options are not in the signature: a call passing them is refused.
_ODE = "g, ans, func, y0, t, args, rtol, atol, mxstep"
defrule("scipy.integrate.odeint(func, y0, t, args=(), rtol=None, atol=None, mxstep=0, hmax=0.0, hmin=0.0, h0=0.0)",
        zero=("rtol", "atol", "mxstep", "hmax", "hmin", "h0"), structured=True,
        y0=f"{H}grad_odeint({_ODE}, 0)", args=f"{H}grad_odeint({_ODE}, 1)")

# scipy.integrate.trapezoid: NumPy's trapezoidal rule, computed by SciPy's copy of it
defrule("scipy.integrate.trapezoid(y, x=None, dx=1.0, axis=-1)", **TRAPEZOID)

# the helpers the templates above and in scipy_special.py call: linear (or bilinear) in their first arguments
defrule_for(sh.lse_keep, "lse_keep(v, a, b, axis, keepdims)", linear=("v",))
defrule_for(sh.lse_b, "lse_b(b)", b_dot="b_dot")
defrule_for(sh.flip_trans, "flip_trans(trans)", nondiff=True)
defrule_for(sh.tri_outer, "tri_outer(bb, x, trans, lower, unit_diagonal)",
            x_dot="s2s.scipy_helpers.tri_outer(bb, x_dot, trans, lower, unit_diagonal)", linear=("bb",))
defrule_for(sh.band_flip, "band_flip(l_and_u)", nondiff=True)
defrule_for(sh.band_transpose, "band_transpose(v, l_and_u)", linear=("v",))
defrule_for(sh.band_outer, "band_outer(v, x, l_and_u)", x_dot="s2s.scipy_helpers.band_outer(v, x_dot, l_and_u)",
            linear=("v",))
defrule_for(sh.band_matvec, "band_matvec(m, x, l_and_u)", x_dot="s2s.scipy_helpers.band_matvec(m, x_dot, l_and_u)",
            linear=("m",))
defrule_for(sh.tri_apply, "tri_apply(m, x, trans, lower, unit_diagonal)",
            x_dot="s2s.scipy_helpers.tri_apply(m, x_dot, trans, lower, unit_diagonal)", linear=("m",))

# the multivariate normal's and Dirichlet's (s2s/rules/scipy_stats.py): linear in their first argument
for _helper, _sig in ((sh.mvn_cov, "mvn_cov(v, mean)"), (sh.mvn_cov_adjoint, "mvn_cov_adjoint(v, cov)"),
                      (sh.mvn_mean, "mvn_mean(v, cov)"), (sh.mvn_rows, "mvn_rows(v, mean, cov)"),
                      (sh.mvn_g, "mvn_g(v, x, mean, cov)"), (sh.mvn_sum_rows, "mvn_sum_rows(v, mean)"),
                      (sh.dir_full_dot, "dir_full_dot(v, alpha)"), (sh.dir_x_adjoint, "dir_x_adjoint(v, x)"),
                      (sh.dir_alpha, "dir_alpha(v, x)"), (sh.dir_g, "dir_g(v, x)"), (sh.dir_sum_alpha, "dir_sum_alpha(v)")):
    defrule_for(_helper, _sig, linear=("v",))
defrule_for(sh.dir_full, "dir_full(x, alpha)", x_dot="s2s.scipy_helpers.dir_full_dot(x_dot, alpha)")
defrule_for(sh.rows_outer, "rows_outer(a, b)",
            b_dot="s2s.scipy_helpers.rows_outer(a, b_dot)", linear=("a",))
for _helper in (sh.cho_lower, sh.cho_rest, sh.cho_read):
    defrule_for(_helper, f"{_helper.__name__}(v, lower)", linear=("v",))
defrule_for(sh.phi, "phi(v)", linear=("v",))
defrule_for(sh.first, "first(v)", linear=("v",))
defrule_for(sh.neg_outer, "neg_outer(u, v)",
            v_dot="s2s.scipy_helpers.neg_outer(u, v_dot)", linear=("u",))
defrule_for(sh.cho_c_adjoint, "cho_c_adjoint(abar, c, lower)", structured=True,
            c_dot="s2s.scipy_helpers.cho_c_adjoint(abar, c_dot, lower)", linear=("abar",))
defrule_for(sh.cho_a_dot, "cho_a_dot(cd, c, lower)",
            c_dot="s2s.scipy_helpers.cho_a_dot(cd, c_dot, lower)", linear=("cd",))
defrule_for(sh.cho_sym, "cho_sym(v, lower)", linear=("v",))
defrule_for(sh.cho_pack, "cho_pack(ld, a, lower)", structured=True, linear=("ld", "a"))

# scipy.linalg.cholesky(a, lower) reads one triangle of `a` (the lower one where `lower`, else the upper one) and
# returns L, or U = L^T: it is np.linalg.cholesky of `a` (lower) or of a^T (upper). np.linalg.cholesky's rule
# (rules/linalg.py) is written here for the factor L, its adjoint and the read triangle, transposed where upper.
_SWAP = "np.swapaxes({}, -1, -2)"
_AS_LOWER = {r"\bans\b": f"(ans if lower else {_SWAP.format('ans')})",
             r"\bg\b": f"(g if lower else {_SWAP.format('g')})",
             r"s2s\.broadcast_like\(a_dot, a\)": f"(s2s.broadcast_like(a_dot, a) if lower else "
                                                 f"{_SWAP.format('s2s.broadcast_like(a_dot, a)')})"}


def _upper_or_lower(template: ast.expr) -> str:
    """np.linalg.cholesky's template for the lower factor, read for scipy's `lower` (the upper one transposed)."""
    text = ast.unparse(template)
    for pattern, replacement in _AS_LOWER.items():
        text = re.sub(pattern, replacement, text)
    return f"({text} if lower else {_SWAP.format(text)})"


_np_cholesky = lookup(np.linalg.cholesky)
defrule("scipy.linalg.cholesky(a, lower=False, overwrite_a=False, check_finite=True)",
        zero=("lower", "overwrite_a", "check_finite"), default_only=("overwrite_a",),
        a=_upper_or_lower(_np_cholesky.vjp["a"]), a_dot=_upper_or_lower(_np_cholesky.jvp["a"]))

# scipy.linalg.solve, inv and det of a general matrix are NumPy's. solve with assume_a='pos' / 'sym' / 'her' reads
# the triangle named by `lower` (the upper one by default) as the symmetric matrix it stands for (cho_sym), so its
# adjoint is folded onto that triangle (cho_read), as differences of SciPy's function see it. Other assume_a
# values (banded, triangular, diagonal, ...) or one not written as a literal: no template, refused.
_GENERAL = (None, "gen", "general")
_SYMMETRIC = ("pos", "positive definite", "sym", "symmetric", "her", "hermitian")
_SOLVE_SIG = ("scipy.linalg.solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True, "
              "assume_a=None, transposed=False)")
_SOLVE_OPTS = dict(zero=("lower", "overwrite_a", "overwrite_b", "check_finite", "assume_a", "transposed"),
                   default_only=("overwrite_a", "overwrite_b", "transposed"))
_S = f"{H}cho_sym(a, lower)"
_solve_symmetric = defrule(_SOLVE_SIG, register=False, **_SOLVE_OPTS,
                           a=f"{H}cho_read(s2s.grad_solve_a(g, ans, {_S}, b), lower)", b=f"s2s.grad_solve_b(g, {_S}, b)",
                           a_dot=f"-np.linalg.solve({_S}, np.matmul({H}cho_sym(a_dot, lower), ans))",
                           b_dot=f"np.linalg.solve({_S}, b_dot)")
_solve_other = defrule(_SOLVE_SIG, register=False, **_SOLVE_OPTS)


def _assume_a(symmetric_rule, other_rule):
    def variant(bound):
        node = bound.get("assume_a")
        value = node.value if isinstance(node, ast.Constant) else ...
        if node is None or value in _GENERAL:
            return None
        return symmetric_rule if value in _SYMMETRIC and symmetric_rule is not None else other_rule
    return variant


defrule(_SOLVE_SIG, **_SOLVE_OPTS, a="s2s.grad_solve_a(g, ans, a, b)", b="s2s.grad_solve_b(g, a, b)",
        a_dot="-np.linalg.solve(a, np.matmul(a_dot, ans))",
        b_dot="np.linalg.solve(a, b_dot)").variant = _assume_a(_solve_symmetric, _solve_other)
_np_inv = lookup(np.linalg.inv)
_INV_SIG = "scipy.linalg.inv(a, overwrite_a=False, check_finite=True, assume_a=None, lower=False)"
_INV_OPTS = dict(zero=("overwrite_a", "check_finite", "assume_a", "lower"), default_only=("overwrite_a",))
defrule(_INV_SIG, **_INV_OPTS, a=ast.unparse(_np_inv.vjp["a"]), a_dot=ast.unparse(_np_inv.jvp["a"])).variant = \
    _assume_a(None, defrule(_INV_SIG, register=False, **_INV_OPTS))
_np_det = lookup(np.linalg.det)
defrule("scipy.linalg.det(a, overwrite_a=False, check_finite=True)", zero=("overwrite_a", "check_finite"),
        default_only=("overwrite_a",), a=ast.unparse(_np_det.vjp["a"]), a_dot=ast.unparse(_np_det.jvp["a"]))

# scipy.linalg.eigh of one matrix is np.linalg.eigh of the triangle named by lower (the lower one by default):
# the same adjoint and tangent (s2s.grad_eigh, s2s.eigh_tangent), with UPLO from lower; eigvals_only=True is
# eigvalsh's. A second matrix b (the generalized problem), subsets, type, driver and overwrite_* are refused.
_EIGH_SIG = ("scipy.linalg.eigh(a, b=None, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False, "
             "type=1, check_finite=True, subset_by_index=None, subset_by_value=None, driver=None)")
_EIGH_OPTS = dict(zero=("lower", "eigvals_only", "overwrite_a", "overwrite_b", "type", "check_finite",
                        "subset_by_index", "subset_by_value", "driver", "b"),
                  default_only=("b", "overwrite_a", "overwrite_b", "type", "subset_by_index", "subset_by_value",
                                "driver"))
_UPLO = "('L' if lower else 'U')"
_eigh_values = defrule(_EIGH_SIG, register=False, **_EIGH_OPTS,
                       a=f"s2s.grad_eigh([g, 0.0], np.linalg.eigh(a, {_UPLO}), a, {_UPLO})",
                       a_dot=f"s2s.eigh_tangent(s2s.broadcast_like(a_dot, a), np.linalg.eigh(a, {_UPLO}), {_UPLO})[0]")


_eigh_refused = defrule(_EIGH_SIG, register=False, **_EIGH_OPTS)  # eigvals_only held in a variable: no template


def _values_only(bound):
    node = bound.get("eigvals_only")
    if node is None or isinstance(node, ast.Constant) and node.value is False:
        return None
    return _eigh_values if isinstance(node, ast.Constant) and node.value is True else _eigh_refused


defrule(_EIGH_SIG, structured=True, **_EIGH_OPTS, a=f"s2s.grad_eigh(g, ans, a, {_UPLO})",
        a_dot=f"s2s.eigh_tangent(s2s.broadcast_like(a_dot, a), ans, {_UPLO})").variant = _values_only
