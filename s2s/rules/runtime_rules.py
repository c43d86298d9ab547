"""Rules for the runtime helpers that desugared and generated code calls.

These make generated derivative code differentiable again (forward mode over
reverse mode gives Hessians). Each adjoint helper is linear in the adjoint it
receives; `shape_only` marks arguments whose values do not matter.
"""

from s2s import runtime as rt
from s2s.rules import defrule_for as _defrule_for
from s2s.rules import result_shapes as shapes


def defrule_for(func, signature, **kwargs):
    """A runtime helper's rule. Arguments without a template (indices, axes, shapes, flags)
    only steer the helper: in generated code they may come off the tape and look varied, but
    they contribute no tangent."""
    rule = _defrule_for(func, signature, **kwargs)
    if not rule.nondiff:
        for p in rule.params:
            rule.jvp.setdefault(p, None)
    return rule

# helpers that user-level desugaring introduces
defrule_for(rt.as_sequence, "as_sequence(x)", tangent_from_adjoint=True, result_shape=shapes.iterated,
            real=shapes.real_of_one, x="s2s.grad_iterated(g, x)")
defrule_for(rt.zip_row, "zip_row(x, where)", tangent_from_adjoint=True, result_shape=shapes.iterated,
            real=shapes.real_of_first(2), x="s2s.grad_iterated(g, x)")
defrule_for(rt.astype, "astype(x, dtype, copy=True)", result_shape=shapes.astype,
            x="s2s.cast_back(g, x) if s2s.is_float_dtype(dtype) else 0.0",
            x_dot="x_dot if s2s.is_float_dtype(dtype) else 0.0")
defrule_for(rt.item, "item(x, *index)", x="s2s.item_grad(g, x, index)", x_dot="s2s.item(x_dot, *index)")
defrule_for(rt.stop_gradient, "stop_gradient(x)", nondiff=True)
# (the identity_products rewrite's, in s2s.grad's NumPy code alone: run, not differentiated)
defrule_for(rt.eye_product, "eye_product(m, g, n, left)", result_shape=shapes.eye_product, real=shapes.real_eye_product)
# (the fields a function stores into, as given: `finish` reads it for shapes alone, and its values are x's)
defrule_for(rt.as_given, "as_given(x)", structured=True, x="g", linear=("x",))
defrule_for(rt.copy, "copy(x)", result_shape=shapes.copy, real=shapes.real_of_one, x="g", linear=("x",))
defrule_for(rt.unshared, "unshared(value, where, deep, updated, *others)", tangent_from_adjoint=True,
            result_shape=shapes.checked, real=shapes.real_checked, value="g").jvp["others"] = None  # the names it checks only steer it
defrule_for(rt.item_number, "item_number(value, where)", tangent_from_adjoint=True, result_shape=shapes.checked_item,
            real=shapes.real_checked_item, value="g")
defrule_for(rt.setitem, "setitem(x, index, v)", structured=True, result_shape=shapes.setitem,
            real=shapes.real_of_first(3),
            x_dot="s2s.setitem(s2s.dense_tangent(x_dot, x), index, s2s.dense_tangent(0.0, v))",  # (a list's slice: zeros like v)
            v_dot="s2s.setitem(s2s.dense_tangent(0.0, x), index, s2s.written_into(v_dot, x))")
# np.add.at(a, i, b) / np.subtract.at (transforms/ufunc_at.py): `a` plus b scattered to the indices, each
# occurrence of a repeated index adding its own b (the adjoint of b reads g at every occurrence)
for _at, _sign in ((rt.added_at, ""), (rt.subtracted_at, "-")):
    defrule_for(_at, f"{_at.__name__}(a, indices, b)", result_shape=shapes.setitem, real=shapes.real_of_first(3),
                a="g", b=f"unbroadcast({_sign}g[indices], b)", a_dot="s2s.dense_tangent(a_dot, a)",
                b_dot=f"s2s.{_at.__name__}(s2s.dense_tangent(0.0, a), indices, b_dot)")
# NumPy's writers run on a copy (transforms/ufunc_at.py, s2s/runtime/writers.py): the array's adjoint is g where
# the writer kept its entry, the values' the entries of g written from each; linear in the array and the values
# jointly, so the tangent is the writer run on the two tangents (the array's term writes zeros shaped as the values:
# empty values write nothing, where a number 0.0 would be written at every chosen entry). Each row: the helper, its
# signature, NumPy's name, the array, the values, the other arguments as the writer takes them.
for _helper, _signature, _name, _array, _values, _args, _kwargs in (
        (rt.filled_diagonal, "filled_diagonal(a, val, wrap=False)", "fill_diagonal", "a", "val", "({v}, wrap)", "None"),
        (rt.copied_to, "copied_to(dst, src, casting='same_kind', where=True)", "copyto", "dst", "src", "({v},)",
         "{'casting': casting, 'where': where}"),
        (rt.putmasked, "putmasked(a, mask, values)", "putmask", "a", "values", "(mask, {v})", "None"),
        (rt.placed, "placed(arr, mask, vals)", "place", "arr", "vals", "(mask, {v})", "None"),
        (rt.put_into, "put_into(a, ind, v, mode='raise')", "put", "a", "v", "(ind, {v})", "{'mode': mode}"),
        (rt.put_along, "put_along(arr, indices, values, axis)", "put_along_axis", "arr", "values",
         "(indices, {v}, axis)", "None")):
    _given = _args.format(v=_values)
    defrule_for(_helper, _signature, result_shape=shapes.written, **{
        _array: f"s2s.written_target_grad(g, '{_name}', {_array}, {_given}, {_kwargs})",
        _values: f"s2s.written_values_grad(g, '{_name}', {_array}, {_given}, {_kwargs})",
        f"{_array}_dot": f"s2s.written_tangent('{_name}', s2s.dense_tangent({_array}_dot, {_array}), "
                         f"{_args.format(v=f's2s.dense_tangent(0.0, {_values})')}, {_kwargs})",
        f"{_values}_dot": f"s2s.written_tangent('{_name}', s2s.dense_tangent(0.0, {_array}), "
                          f"{_args.format(v=_values + '_dot')}, {_kwargs})"})
defrule_for(rt.written_target_grad, "written_target_grad(g, name, a, args, kwargs=None)", shape_only=("a", "args"),
            linear=("g",), result_shape=shapes.written_adjoint)
defrule_for(rt.written_values_grad, "written_values_grad(g, name, a, args, kwargs=None)", shape_only=("a", "args"),
            linear=("g",))
# np.apply_along_axis (transforms/along_axis.py): the rows of the array and the placed results are linear maps of
# them (a reshape and a move of axes), the results list passed on as it is
# (the rows are views of arr, as the slices NumPy gives f are: f changing its row changes arr)
defrule_for(rt.along_axis_rows, "along_axis_rows(arr, axis)", result_shape=shapes.along_axis_rows, linear=("arr",),
            arr="s2s.along_axis_rows_grad(g, arr, axis)").returns_view = True
defrule_for(rt.along_axis_rows_grad, "along_axis_rows_grad(g, arr, axis)", shape_only=("arr",), linear=("g",),
            result_shape=lambda site: site.shape(1) if site.nargs == 3 else None)
defrule_for(rt.along_axis_results, "along_axis_results(results)", structured=True, results="g", linear=("results",))
defrule_for(rt.along_axis_out, "along_axis_out(stacked, arr, axis)", shape_only=("arr",),
            result_shape=shapes.along_axis_out,
            linear=("stacked",), stacked="s2s.along_axis_out_grad(g, stacked, arr, axis)")
defrule_for(rt.along_axis_out_grad, "along_axis_out_grad(g, stacked, arr, axis)", shape_only=("stacked", "arr"),
            linear=("g",), result_shape=lambda site: site.shape(1) if site.nargs == 4 else None)
defrule_for(rt.slice_kept, "slice_kept(x, index, v)", structured=True, linear=("v",), tangent_from_adjoint=True,
            v="g")
defrule_for(rt.log_scale, "log_scale(base)", base_dot="base_dot / base")  # log(base), 1 for None
for _helper in (rt.effect_free, rt.not_an_iterator, rt.shape_arguments, rt.star_count, rt.unpack_count, rt.inplace_check,
                rt.mapping_keys, rt.missing_attribute, rt.numbers_or_arrays, rt.euclidean_norm, rt.global_value,
                rt.set_global, rt.has_key, rt.clip_mask, rt.is_float_dtype, rt.shape_of):
    defrule_for(_helper, f"{_helper.__name__}(*args)", nondiff=True)
defrule_for(rt.reduced_size, "reduced_size(*args)", nondiff=True, result_shape=shapes.number)
defrule_for(rt.balanced_eq, "balanced_eq(*args)", nondiff=True, result_shape=shapes.balanced_eq,
            real=shapes.real_of_first(3))  # (x == ans) / (1.0 + (x == other)) in x's dtype

# adjoint accumulation and structure
defrule_for(rt.unbroadcast, "unbroadcast(g, x)", shape_only=("x",), linear=("g",), result_shape=shapes.unbroadcast,
            real=shapes.real_scatter)
defrule_for(rt.cast_back, "cast_back(g, x)", shape_only=("x",), linear=("g",), result_shape=shapes.adjoint_widened,
            real=shapes.real_of_first(2))
defrule_for(rt.seed_of, "seed_of(g, value)", shape_only=("value",), linear=("g",), result_shape=shapes.adjoint_widened,
            real=shapes.real_of_first(2))
defrule_for(rt.finish, "finish(g, x)", shape_only=("x",), structured=True, linear=("g",))
defrule_for(rt.add, "add(a, b)", structured=True, result_shape=shapes.add, real=shapes.real_of_all(2), a_dot="a_dot",
            b_dot="b_dot")
defrule_for(rt.part, "part(g, index)", linear=("g",), result_shape=shapes.part)
defrule_for(rt.getitem_grad, "getitem_grad(g, x, index)", shape_only=("x",), linear=("g",), result_shape=shapes.getitem_grad,
            real=shapes.real_scatter)
defrule_for(rt.written_into, "written_into(t, x)", shape_only=("x",), linear=("t",))
defrule_for(rt.setitem_grads, "setitem_grads(g, x, index)", shape_only=("x",), linear=("g",),
            result_shape=shapes.setitem_grads)
defrule_for(rt.append_grads, "append_grads(g)", linear=("g",), result_shape=shapes.append_pieces)
# (its pieces' shapes alone: it pops from its argument, so no tangent rule: code with it is run, not differentiated)
defrule_for(rt.append_grads_owned, "append_grads_owned(g)", result_shape=shapes.append_pieces)
# (mutates its first argument's list: code with it is run, not differentiated; transforms/list_adjoints.py)
defrule_for(rt.add_item_grad, "add_item_grad(acc, g, x, index)", result_shape=shapes.item_added)
defrule_for(rt.zero_of_real, "zero_of_real(g, x)", nondiff=True)
defrule_for(rt.broadcast_like, "broadcast_like(t, ans)", shape_only=("ans",), linear=("t",))
defrule_for(rt.dense_tangent, "dense_tangent(t, value)", shape_only=("value",), linear=("t",))
# (a list's tangent as the array NumPy makes of the list, `np.array(feats)` in forward code: Hessians over it)
defrule_for(rt.array_tangent, "array_tangent(t, value)", shape_only=("value",), linear=("t",))
# the adjoint and the tangent of a closure over differentiated values (FunctionAdjoints): linear in g / tangents
defrule_for(rt.function_adjoint_parts, "function_adjoint_parts(g, names)", structured=True, linear=("g",))
defrule_for(rt.function_tangent, "function_tangent(tangents, names)", structured=True, linear=("tangents",))

# adjoints of reductions and shape functions: linear in g
defrule_for(rt.expand_reduced, "expand_reduced(g, x, axis, keepdims)", shape_only=("x",), linear=("g",),
            result_shape=shapes.expand_reduced, real=shapes.real_scatter)
defrule_for(rt.grad_extreme, "grad_extreme(g, ans, x, axis, keepdims)", shape_only=("ans", "x"), linear=("g",),
            result_shape=shapes.adjoint_of_third)
defrule_for(rt.grad_var, "grad_var(g, x, axis, ddof, keepdims)", x_dot="s2s.grad_var(g, x_dot, axis, ddof, keepdims)", linear=("g",),
            result_shape=shapes.spread_over(1))
defrule_for(rt.grad_std, "grad_std(g, ans, x, axis, ddof, keepdims)",
            ans_dot="s2s.grad_var(-s2s.safe_div(g * ans_dot, 2.0 * ans * ans), x, axis, ddof, keepdims)",
            x_dot="s2s.grad_std(g, ans, x_dot, axis, ddof, keepdims)", linear=("g",), result_shape=shapes.spread_over(2))
defrule_for(rt.grad_norm, "grad_norm(g, ans, x, ord, axis, keepdims)", result_shape=shapes.adjoint_of_third,
            ans_dot="s2s.grad_norm(-g * ans_dot / ans, ans, x, ord, axis, keepdims) if s2s.euclidean_norm(ord, x, axis) "
                    "else 0.0",
            x_dot="s2s.grad_norm(g, ans, x_dot, ord, axis, keepdims) if s2s.euclidean_norm(ord, x, axis) else 0.0",
            linear=("g",))
defrule_for(rt.grad_cumsum, "grad_cumsum(g, x, axis)", shape_only=("x",), linear=("g",),
            result_shape=shapes.accumulated_back, real=shapes.real_of_first(3))  # (running sums of g)
defrule_for(rt.grad_transpose, "grad_transpose(g, axes)", linear=("g",))
# `x.T` (transforms/desugar.py): an array's transpose, or an object's attribute T; a view of x either way
defrule_for(rt.transpose_attr, "transpose_attr(x)", x="s2s.transpose_attr_grad(g, x)", result_shape=shapes.transpose_attr,
            real=shapes.real_of_one,  # (`x.T` of real floats: real floats; an object's T is no real float)
            x_dot="s2s.transpose_attr_tangent(x_dot, x)").returns_view = True
defrule_for(rt.transpose_attr_grad, "transpose_attr_grad(g, x)", shape_only=("x",), linear=("g",),
            result_shape=shapes.transpose_attr_grad)
defrule_for(rt.transpose_attr_tangent, "transpose_attr_tangent(t, x)", shape_only=("x",), linear=("t",))
defrule_for(rt.grad_expand_dims, "grad_expand_dims(g, axis)", linear=("g",))
defrule_for(rt.grad_squeeze, "grad_squeeze(g, x, axis)", shape_only=("x",), linear=("g",),
            result_shape=shapes.accumulated_back)  # (g reshaped to x's shape)
defrule_for(rt.grad_concatenate, "grad_concatenate(g, arrays, axis)", shape_only=("arrays",), linear=("g",),
            result_shape=shapes.concatenate_pieces)
defrule_for(rt.grad_stack, "grad_stack(g, arrays, axis)", shape_only=("arrays",), linear=("g",),
            result_shape=shapes.stack_pieces)
defrule_for(rt.grad_vstack, "grad_vstack(g, tup)", shape_only=("tup",), linear=("g",), result_shape=shapes.vstack_pieces)
defrule_for(rt.grad_hstack, "grad_hstack(g, tup)", shape_only=("tup",), linear=("g",), result_shape=shapes.hstack_pieces)
defrule_for(rt.grad_builtin_sum, "grad_builtin_sum(g, x)", shape_only=("x",), linear=("g",),
            result_shape=shapes.builtin_sum_pieces)
defrule_for(rt.grad_select, "grad_select(g, chosen, args)", shape_only=("chosen", "args"), linear=("g",),
            result_shape=shapes.selected)
defrule_for(rt.grad_where, "grad_where(g, cond, x, take_x)", shape_only=("x",), linear=("g",),
            result_shape=shapes.masked(2, (1,)), real=shapes.real_of_first(4))
defrule_for(rt.grad_clip, "grad_clip(g, x, lo, hi)", shape_only=("x", "lo", "hi"), linear=("g",),
            result_shape=shapes.masked(1, (2, 3)), real=shapes.real_of_first(4))
defrule_for(rt.grad_trace, "grad_trace(g, x, offset, axis1, axis2)", shape_only=("x",), linear=("g",),
            result_shape=shapes.trace_back)
defrule_for(rt.item_grad, "item_grad(g, x, index)", shape_only=("x",), linear=("g",))
defrule_for(rt.grad_tile, "grad_tile(g, a, reps)", shape_only=("a",), linear=("g",))
defrule_for(rt.grad_diag, "grad_diag(g, v, k)", shape_only=("v",), linear=("g",), result_shape=shapes.grad_diag,
            real=shapes.real_scatter)
defrule_for(rt.array_grad, "array_grad(g, obj)", shape_only=("obj",), linear=("g",), result_shape=shapes.array_grad)

# adjoints of products: linear in g and in the other factor
defrule_for(rt.grad_dot_a, "grad_dot_a(g, a, b)", shape_only=("a",), result_shape=shapes.grad_dot(1),
            real=shapes.real_of_all(3), b_dot="s2s.grad_dot_a(g, a, b_dot)", linear=("g",))
defrule_for(rt.grad_dot_b, "grad_dot_b(g, a, b)", shape_only=("b",), result_shape=shapes.grad_dot(2),
            real=shapes.real_of_all(3), a_dot="s2s.grad_dot_b(g, a_dot, b)", linear=("g",))
defrule_for(rt.grad_matmul_a, "grad_matmul_a(g, a, b)", shape_only=("a",), result_shape=shapes.grad_matmul(1),
            real=shapes.real_of_all(3),
            b_dot="s2s.grad_matmul_a(g, a, b_dot)", linear=("g",))
defrule_for(rt.grad_matmul_b, "grad_matmul_b(g, a, b)", shape_only=("b",), result_shape=shapes.grad_matmul(2),
            real=shapes.real_of_all(3),
            a_dot="s2s.grad_matmul_b(g, a_dot, b)", linear=("g",))
defrule_for(rt.grad_tensordot, "grad_tensordot(g, a, b, axes, which)",
            a_dot="s2s.grad_tensordot(g, a_dot, b, axes, which) if which == 1 else 0.0",
            b_dot="s2s.grad_tensordot(g, a, b_dot, axes, which) if which == 0 else 0.0", linear=("g",))
# (det's adjoint g ans inv(a).T, or g times the cofactors where a is singular: its tangents' helpers take both cases)
for _det, _facts in ((rt.grad_det, {"result_shape": shapes.grad_det}),
                     (rt.det_adjoint, {"result_shape": shapes.det_adjoint, "real": shapes.real_of_first(3)})):
    defrule_for(_det, f"{_det.__name__}(g, ans, a)", **_facts, ans_dot="s2s.det_adjoint_dot_ans(g, ans, ans_dot, a)",
                a_dot="s2s.det_adjoint_dot_a(g, ans, a, a_dot)", linear=("g",))
defrule_for(rt.grad_solve_b, "grad_solve_b(g, a, b)", shape_only=("b",), result_shape=shapes.grad_solve_b,
            a_dot="s2s.grad_solve_b_dot(g, a, b, a_dot)", linear=("g",))
# np.linalg.solve's tangent's reshapes (a vector a column of its own, and back): linear, each the other's adjoint
defrule_for(rt.solve_columns, "solve_columns(x, a, b)", shape_only=("a", "b"), linear=("x",),
            x="s2s.solve_uncolumns(g, a, b)")
defrule_for(rt.solve_uncolumns, "solve_uncolumns(y, a, b)", shape_only=("a", "b"), linear=("y",),
            y="s2s.solve_columns(g, a, b)")

# adjoints of creation functions, powers and the rest of the right-or-refused rules
# (the slope's derivative in x is 0 where y is 0 or 1, at x == 0 too, where `y * power_slope(x, y - 1)` was 0 * inf)
defrule_for(rt.power_slope, "power_slope(x, y)", x_dot="x_dot * s2s.power_term(y * (y - 1), x, y - 2)",
            y_dot="y_dot * s2s.power_slope_dy(x, y)")
defrule_for(rt.power_term, "power_term(c, x, y)", c_dot="c_dot * s2s.power_term(1.0, x, y)",
            x_dot="x_dot * s2s.power_term(c * y, x, y - 1)", y_dot="y_dot * s2s.power_term_dy(c, x, y)")
defrule_for(rt.real_part, "real_part(t, val)", shape_only=("val",), linear=("t",))
defrule_for(rt.fdiv, "fdiv(a, b)", b_dot="-s2s.fdiv(a * b_dot, b * b)", linear=("a",),
            result_shape=shapes.broadcasting(2), real=shapes.real_of_all(2))
defrule_for(rt.safe_div, "safe_div(a, b)", b_dot="-s2s.safe_div(a * b_dot, b * b)", linear=("a",),
            result_shape=shapes.broadcasting(2), real=shapes.real_of_all(2))
defrule_for(rt.grad_fill, "grad_fill(g, ans, fill_value)", shape_only=("ans", "fill_value"), linear=("g",))
defrule_for(rt.fill_tangent, "fill_tangent(t, ans)", shape_only=("ans",), linear=("t",))
defrule_for(rt.grad_arange, "grad_arange(g, ans, role)", shape_only=("ans",), linear=("g",))
defrule_for(rt.grad_arange_args, "grad_arange_args(g, ans, args, stop=None)", shape_only=("ans", "args"),
            structured=True, linear=("g",))
defrule_for(rt.arange_tangent, "arange_tangent(t, ans, role)", shape_only=("ans",), linear=("t",))
defrule_for(rt.arange_args_tangent, "arange_args_tangent(ans, args, tangents, stop=None)",
            shape_only=("ans", "args"), linear=("tangents",))
defrule_for(rt.grad_linspace, "grad_linspace(g, ans, x, num, endpoint, retstep, axis, which)",
            shape_only=("ans", "x"), linear=("g",))
defrule_for(rt.linspace_tangent, "linspace_tangent(t, ans, num, endpoint, retstep, axis, which)", shape_only=("ans",),
            structured=True, linear=("t",))
defrule_for(rt.grad_divmod, "grad_divmod(g, ans, x, which)", shape_only=("x",), linear=("g",))
defrule_for(rt.divmod_tangent, "divmod_tangent(t, ans, which)", structured=True, linear=("t",))
# (ans: a tangent of the quotient is zero wherever it is defined, so `ans` only steers these two)
defrule_for(rt.grad_prod, "grad_prod(g, ans, x, axis, keepdims)", shape_only=("ans",),
            x_dot="s2s.grad_prod_dot(g, x, x_dot, axis, keepdims)", linear=("g",))
defrule_for(rt.grad_solve_a, "grad_solve_a(g, ans, a, b)", shape_only=("b",), result_shape=shapes.grad_solve_a,
            ans_dot="s2s.grad_solve_a(g, ans_dot, a, b)",
            a_dot="s2s.grad_solve_a_dot(g, ans, a, a_dot)", linear=("g",))
defrule_for(rt.grad_einsum_parts, "grad_einsum_parts(g, items, optimize=False, which=None)", structured=True,
            result_shape=shapes.einsum_parts,
            items_dot="s2s.grad_einsum_parts_dot(g, items, items_dot, optimize, which)", linear=("g",))
defrule_for(rt.einsum_jvp, "einsum_jvp(items, tangents)",
            items_dot="s2s.einsum_jvp_dot(items, tangents, items_dot)", linear=("tangents",))

# np.r_[...] and np.c_[...] (lowered to index_concat), other index tricks (index_item: no key derivative)
defrule_for(rt.index_concat, "index_concat(obj, *items)", items="s2s.grad_index_concat(g, obj, items)",
            items_dot="s2s.index_concat_tangent(obj, items, items_dot)").name = "np.r_[...] / np.c_[...]"
defrule_for(rt.grad_index_concat, "grad_index_concat(g, obj, items)", shape_only=("items",), structured=True, linear=("g",))
defrule_for(rt.index_concat_tangent, "index_concat_tangent(obj, items, tangents)", shape_only=("items",), linear=("tangents",))
_index_item = _defrule_for(rt.index_item, "index_item(obj, key)")  # no template for key: a varied key is refused
_index_item.jvp["obj"] = None
_index_item.name = "np.s_[...], np.index_exp[...], np.mgrid[...] or np.ogrid[...]"

defrule_for(rt.grad_iterated, "grad_iterated(g, x)", shape_only=("x",), linear=("g",), result_shape=shapes.grad_iterated,
            real=shapes.real_of_first(2))
defrule_for(rt.grad_as_sequence, "grad_as_sequence(g, x)", shape_only=("x",), structured=True, linear=("g",))
defrule_for(rt.as_sequence_tangent, "as_sequence_tangent(t, x, as_tuple)", shape_only=("x",), structured=True, linear=("t",))
defrule_for(rt.grad_bitor, "grad_bitor(g, x, y, which)", shape_only=("x", "y"), structured=True, linear=("g",))
defrule_for(rt.bitor_tangent, "bitor_tangent(tx, ty, x, y)", shape_only=("x", "y"), structured=True, linear=("tx", "ty"))
defrule_for(rt.grad_dict_pairs, "grad_dict_pairs(g, pairs)", shape_only=("pairs",), structured=True, linear=("g",))
defrule_for(rt.dict_pairs_tangent, "dict_pairs_tangent(t, pairs)", shape_only=("pairs",), structured=True, linear=("t",))
# `+` and `*` that may concatenate or repeat lists and tuples
defrule_for(rt.grad_add_seq, "grad_add_seq(g, x, y, which)", shape_only=("x", "y"), structured=True, linear=("g",),
            result_shape=shapes.add_seq_part)
defrule_for(rt.grad_mult_seq, "grad_mult_seq(g, x, y, which)", structured=True, result_shape=shapes.mult_seq_part,
            x_dot="s2s.grad_mult_seq(g, x_dot, y, which) if which == 1 else 0.0",
            y_dot="s2s.grad_mult_seq(g, x, y_dot, which) if which == 0 else 0.0", linear=("g",),
            real=shapes.real_product_part)
defrule_for(rt.add_seq_tangent, "add_seq_tangent(tx, ty, x, y, ans)", shape_only=("x", "y", "ans"), structured=True, linear=("tx", "ty"))
defrule_for(rt.mult_seq_tangent, "mult_seq_tangent(t, x, y, which)", structured=True,
            x_dot="s2s.mult_seq_tangent(t, x_dot, y, 1) if which == 1 else 0.0",
            y_dot="s2s.mult_seq_tangent(t, x, y_dot, 0) if which == 0 else 0.0", linear=("t",))

# helpers that forward-mode templates call (so tangent code can be differentiated again)
defrule_for(rt.keep, "keep(ans, x, axis, keepdims)", shape_only=("x",), linear=("ans",), result_shape=shapes.kept)
defrule_for(rt.builtin_sum_tangent, "builtin_sum_tangent(t, x)", shape_only=("x",), linear=("t",))
defrule_for(rt.select_tangent, "select_tangent(ans, args, tangents)", shape_only=("ans", "args"), linear=("tangents",))
defrule_for(rt.dense_list, "dense_list(tangents, values)", shape_only=("values",), linear=("tangents",))
defrule_for(rt.as_array_like, "as_array_like(x, dtype=None)", linear=("x",))
