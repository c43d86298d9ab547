"""Rules for functions that move values without changing them."""

import ast

import numpy as np

from s2s import runtime as rt
from s2s.rules import defrule, facts, family, nondifferentiable
from s2s.rules import result_shapes as shapes
from s2s.rules.runtime_rules import defrule_for as helper_rule
from s2s.runtime import shape as rt_shape

family(elementwise=False)

# order='F' reads and writes the entries in Fortran index order, the adjoint too; 'A' and 'K' follow a's layout,
# resolved on a itself (s2s.shape.layout_order): the adjoint g and the tangent a_dot need not share it. A call
# that passes an order other than the literal 'C' takes these variants.
_reshape_ordered = defrule("np.reshape(a, shape=None, order='C')", register=False, returns_view=True,
                           a="np.reshape(g, np.shape(a), order=s2s.shape.layout_order(a, order))",
                           a_dot="np.reshape(a_dot, np.shape(ans), order=s2s.shape.layout_order(a, order))")
_ravel_ordered = defrule("np.ravel(a, order='C')", register=False, returns_view=True,
                         a="np.reshape(g, np.shape(a), order=s2s.shape.layout_order(a, order))",
                         a_dot="np.ravel(a_dot, order=s2s.shape.layout_order(a, order))")


def _ordered(rule):
    def variant(bound):
        order = bound.get("order")
        plain = order is None or isinstance(order, ast.Constant) and order.value in ("C", None)
        return None if plain else rule
    return variant


defrule("np.reshape(a, shape=None, order='C')", returns_view=True, methods=("reshape",), result_shape=shapes.reshape,
        a="np.reshape(g, np.shape(a))",
        a_dot="np.reshape(a_dot, np.shape(ans))", real=shapes.real_as_first).variant = _ordered(_reshape_ordered)
defrule("np.ravel(a, order='C')", returns_view=True, methods=("ravel", "flatten"), result_shape=shapes.ravel,
        a="np.reshape(g, np.shape(a))",
        a_dot="np.ravel(a_dot)", real=shapes.real_as_first).variant = _ordered(_ravel_ordered)
defrule("np.transpose(a, axes=None)", returns_view=True, methods=("transpose",), a="s2s.grad_transpose(g, axes)",
        a_dot="np.transpose(a_dot, axes)", real=shapes.real_as_first)
# swapaxes and flip are their own transposes: the tangent is the adjoint with g renamed
defrule("np.swapaxes(a, axis1, axis2)", returns_view=True, methods=("swapaxes",), result_shape=shapes.swapaxes, tangent_from_adjoint=True,
        a="np.swapaxes(g, axis1, axis2)", real=shapes.real_as_first)
defrule("np.matrix_transpose(x)", returns_view=True, tangent_from_adjoint=True, x="np.matrix_transpose(g)",
        real=shapes.real_as_first)
defrule("np.moveaxis(a, source, destination)", returns_view=True, a="np.moveaxis(g, destination, source)",
        a_dot="np.moveaxis(a_dot, source, destination)", real=shapes.real_as_first)
defrule("np.squeeze(a, axis=None)", returns_view=True, methods=("squeeze",), result_shape=shapes.squeeze, a="s2s.grad_squeeze(g, a, axis)",
        a_dot="np.squeeze(a_dot, axis)", real=shapes.real_as_first)
defrule("np.expand_dims(a, axis)", returns_view=True, result_shape=shapes.expand_dims, a="s2s.grad_expand_dims(g, axis)",
        a_dot="np.expand_dims(a_dot, axis)", real=shapes.real_as_first)
defrule("np.broadcast_to(array, shape)", returns_view=True, result_shape=shapes.broadcast_to, array="unbroadcast(g, array)",
        array_dot="np.broadcast_to(array_dot, shape)", real=shapes.real_as_first)
defrule("np.atleast_1d(a)", returns_view=True, a="np.reshape(g, np.shape(a))", a_dot="np.atleast_1d(a_dot)",
        real=shapes.real_as_first)
defrule("np.atleast_2d(a)", returns_view=True, a="np.reshape(g, np.shape(a))", a_dot="np.atleast_2d(a_dot)",
        real=shapes.real_as_first)
defrule("np.concatenate(arrays, axis=0)", arrays="s2s.grad_concatenate(g, arrays, axis)",
        result_shape=shapes.concatenated, real=shapes.real_joined,
        arrays_dot="np.concatenate(s2s.dense_list(arrays_dot, arrays), axis)")
defrule("np.stack(arrays, axis=0)", arrays="s2s.grad_stack(g, arrays, axis)",
        result_shape=shapes.stacked, real=shapes.real_joined,
        arrays_dot="np.stack(s2s.dense_list(arrays_dot, arrays), axis)")
defrule("np.vstack(tup)", tup="s2s.grad_vstack(g, tup)", result_shape=shapes.vstacked, real=shapes.real_items,
        tup_dot="np.vstack(s2s.dense_list(tup_dot, tup))")
defrule("np.hstack(tup)", tup="s2s.grad_hstack(g, tup)", result_shape=shapes.hstacked, real=shapes.real_items,
        tup_dot="np.hstack(s2s.dense_list(tup_dot, tup))")
defrule("np.flip(m, axis=None)", returns_view=True, tangent_from_adjoint=True, m="np.flip(g, axis)",
        result_shape=shapes.flipped, real=shapes.real_as_first)
defrule("np.tile(A, reps)", A="s2s.grad_tile(g, A, reps)", A_dot="np.tile(A_dot, reps)", real=shapes.real_as_first)
defrule("np.diag(v, k=0)", returns_view="sometimes", result_shape=shapes.diag, v="s2s.grad_diag(g, v, k)", v_dot="np.diag(v_dot, k)",
        real=shapes.real_as_first)
defrule("np.atleast_3d(a)", returns_view=True, a="np.reshape(g, np.shape(a))",
        a_dot="np.atleast_3d(s2s.broadcast_like(a_dot, a))", real=shapes.real_as_first)
defrule("np.flipud(m)", returns_view=True, m="np.flipud(g)", m_dot="np.flipud(s2s.broadcast_like(m_dot, m))",
        real=shapes.real_as_first)
defrule("np.fliplr(m)", returns_view=True, m="np.fliplr(g)", m_dot="np.fliplr(s2s.broadcast_like(m_dot, m))",
        real=shapes.real_as_first)
defrule("np.rot90(m, k=1, axes=(0, 1))", returns_view=True, m="np.rot90(g, -k, axes)",
        m_dot="np.rot90(s2s.broadcast_like(m_dot, m), k, axes)", real=shapes.real_as_first)
defrule("np.roll(a, shift, axis=None)", result_shape=shapes.rolled, real=shapes.real_rolled,
        a="np.roll(g, np.negative(shift), axis)",
        a_dot="np.roll(s2s.broadcast_like(a_dot, a), shift, axis)")
# fftshift and ifftshift roll each axis by half its length, one the other's inverse (and so its adjoint)
defrule("np.fft.fftshift(x, axes=None)", result_shape=shapes.fft_shifted, real=shapes.real_as_first,
        x="np.fft.ifftshift(g, axes)", x_dot="np.fft.fftshift(s2s.broadcast_like(x_dot, x), axes)")
defrule("np.fft.ifftshift(x, axes=None)", result_shape=shapes.fft_shifted, real=shapes.real_as_first,
        x="np.fft.fftshift(g, axes)", x_dot="np.fft.ifftshift(s2s.broadcast_like(x_dot, x), axes)")
defrule("np.rollaxis(a, axis, start=0)", returns_view=True, a="s2s.grad_rollaxis(g, a, axis, start)",
        a_dot="np.rollaxis(s2s.broadcast_like(a_dot, a), axis, start)", real=shapes.real_as_first)
# the triangle of a matrix (of each matrix in a stack; a 1-d `m` is broadcast to a square first: summed back)
defrule("np.tril(m, k=0)", result_shape=shapes.triangle, m="unbroadcast(np.tril(g, k), m)",
        m_dot="np.tril(s2s.broadcast_like(m_dot, m), k)", real=shapes.real_as_first)
defrule("np.triu(m, k=0)", result_shape=shapes.triangle, m="unbroadcast(np.triu(g, k), m)",
        m_dot="np.triu(s2s.broadcast_like(m_dot, m), k)", real=shapes.real_as_first)
defrule("np.diagonal(a, offset=0, axis1=0, axis2=1)", returns_view=True, methods=("diagonal",),
        a="s2s.grad_diagonal(g, a, offset, axis1, axis2)",
        a_dot="np.diagonal(s2s.broadcast_like(a_dot, a), offset, axis1, axis2)", real=shapes.real_as_first)
# gathers: each entry of the result is a copy of one entry of the input (s2s/runtime/rearrange.py)
defrule("np.repeat(a, repeats, axis=None)", methods=("repeat",), a="s2s.grad_repeat(g, a, repeats, axis)",
        a_dot="np.repeat(s2s.broadcast_like(a_dot, a), repeats, axis)", real=shapes.real_as_first)
# np.delete and np.insert copy entries to new places (gathers: the adjoint adds g back where each came from); obj
# and the axis are not differentiated
defrule("np.delete(arr, obj, axis=None)", zero=("obj", "axis"), arr="s2s.grad_delete(g, arr, obj, axis)",
        arr_dot="np.delete(s2s.broadcast_like(arr_dot, arr), obj, axis)", real=shapes.real_as_first)
defrule("np.insert(arr, obj, values, axis=None)", zero=("obj", "axis"),
        arr="s2s.grad_insert(g, arr, obj, values, axis, 0)", values="s2s.grad_insert(g, arr, obj, values, axis, 1)",
        arr_dot="np.insert(s2s.broadcast_like(arr_dot, arr), obj, 0.0, axis)",
        values_dot="np.insert(np.zeros(np.shape(arr)), obj, values_dot, axis)")
defrule("np.take(a, indices, axis=None)", methods=("take",), a="s2s.grad_take(g, a, indices, axis)",
        a_dot="np.take(s2s.broadcast_like(a_dot, a), indices, axis)", real=shapes.real_as_first)
defrule("np.take_along_axis(arr, indices, axis)", arr="s2s.grad_take_along_axis(g, arr, indices, axis)",
        arr_dot="np.take_along_axis(s2s.broadcast_like(arr_dot, arr), indices, axis)", real=shapes.real_as_first)
# np.pad: the modes that copy entries ('constant' pads with zeros; constant_values and the other modes are refused)
defrule("np.pad(array, pad_width, mode='constant')", result_shape=shapes.padded, real=shapes.real_padded,
        array="s2s.grad_pad(g, array, pad_width, mode)",
        array_dot="s2s.pad_tangent(array_dot, array, pad_width, mode)")
# np.sort is continuous and piecewise linear: each sorted entry is one entry of the input (x.sort() sorts in place
# and stays refused: it is no method here)
defrule("np.sort(a, axis=-1, kind=None, order=None)", zero=("kind", "order"), a="s2s.grad_sort(g, a, axis)",
        a_dot="s2s.sort_tangent(a_dot, a, axis)", result_shape=shapes.sorted_shape, real=shapes.real_as_first)
# np.partition: each entry of the result is one entry of the sorted array (grad_partition: np.sort's adjoint
# laid out as the partitioned values are); kind= and order= read nothing differentiable
defrule("np.partition(a, kth, axis=-1, kind='introselect', order=None)", zero=("kth", "kind", "order"),
        a="s2s.grad_partition(g, ans, a, kth, axis)", a_dot="s2s.partition_tangent(a_dot, ans, a, kth, axis)",
        result_shape=shapes.partitioned, real=shapes.real_as_first)
# (n=0: a itself)
_diff = defrule("np.diff(a, n=1, axis=-1)", returns_view="sometimes", a="s2s.grad_diff(g, a, n, axis)",
                a_dot="np.diff(s2s.broadcast_like(a_dot, a), n, axis)", real=shapes.real_differenced,
                result_shape=shapes.differenced, register=False)
# prepend= and append= join values at the ends first (a number as a piece of length 1), as NumPy does
_ENDS = "n, axis, prepend, append"
defrule("np.diff(a, n=1, axis=-1, prepend=None, append=None)", returns_view="sometimes",
        a=f"s2s.grad_diff_ends(g, a, {_ENDS}, 1)", prepend=f"s2s.grad_diff_ends(g, a, {_ENDS}, 0)",
        append=f"s2s.grad_diff_ends(g, a, {_ENDS}, 2)", a_dot=f"s2s.diff_ends_tangent(a_dot, a, {_ENDS}, 1)",
        prepend_dot=f"s2s.diff_ends_tangent(prepend_dot, a, {_ENDS}, 0)",
        append_dot=f"s2s.diff_ends_tangent(append_dot, a, {_ENDS}, 2)", real=shapes.real_differenced,
        result_shape=shapes.differenced).variant = lambda bound: _diff if all(
            k not in bound or isinstance(bound[k], ast.Constant) and bound[k].value is None
            for k in ("prepend", "append")) else None
# the split family returns a list of pieces
for _name, _kind in (("split", None), ("array_split", "array"), ("hsplit", "h"), ("vsplit", "v"), ("dsplit", "d")):
    _axis = ", axis=0" if _kind in (None, "array") else ""
    defrule(f"np.{_name}(ary, indices_or_sections{_axis})", structured=True, returns_view=True,
            result_shape=shapes.split(_kind), real=shapes.real_pieces,
            ary=f"s2s.grad_split(g, ans, ary, {'axis' if _axis else 0}, {_kind!r})",
            ary_dot=f"s2s.split_tangent(ary_dot, ans, ary, indices_or_sections, {'axis' if _axis else 0}, {_kind!r})")
# each output of np.meshgrid is one input broadcast along the other axes, a new array; `copy=False` makes it a view
# (a call passing `copy=` other than a literal True may return a view: transforms/ownership.py, aliasing.py)
defrule("np.meshgrid(*xi, copy=True, sparse=False, indexing='xy')", structured=True,
        result_shape=shapes.meshgrid, real=shapes.real_meshgrid, zero=("copy", "sparse", "indexing"),
        xi="s2s.grad_meshgrid(g, ans, xi, indexing)", xi_dot="s2s.meshgrid_tangent(xi, xi_dot, sparse, indexing)")
defrule("np.column_stack(tup)", tup="s2s.grad_column_stack(g, tup)",
        tup_dot="np.column_stack(s2s.dense_list(tup_dot, tup))")
defrule("np.append(arr, values, axis=None)", arr="s2s.grad_append(g, arr, values, axis, 0)",
        values="s2s.grad_append(g, arr, values, axis, 1)",
        arr_dot="s2s.append_tangent(arr_dot, 0.0, arr, values, axis)",
        values_dot="s2s.append_tangent(0.0, values_dot, arr, values, axis)")
defrule("np.select(condlist, choicelist, default=0)", zero=("condlist",),
        choicelist="s2s.grad_np_select(g, condlist, choicelist, default, 0)",
        default="s2s.grad_np_select(g, condlist, choicelist, default, 1)",
        choicelist_dot="s2s.np_select_tangent(condlist, choicelist, default, choicelist_dot, 0.0)",
        default_dot="s2s.np_select_tangent(condlist, choicelist, default, 0.0, default_dot)")

# np.diagflat(v, k) is np.diag of v flattened; np.ediff1d is np.diff of the flattened array (to_begin / to_end
# refused); np.bincount with weights sums them into bins: each weight's adjoint is its bin's
defrule("np.diagflat(v, k=0)", v="np.reshape(s2s.grad_diag(g, np.ravel(v), k), np.shape(v))",
        v_dot="np.diagflat(s2s.broadcast_like(v_dot, v), k)")
defrule("np.ediff1d(ary, to_end=None, to_begin=None)", default_only=("to_end", "to_begin"),
        ary="np.reshape(s2s.grad_diff(g, np.ravel(ary), 1, -1), np.shape(ary))",
        ary_dot="np.diff(np.ravel(s2s.broadcast_like(ary_dot, ary)))")
defrule("np.bincount(x, weights=None, minlength=0)", zero=("x", "minlength"), weights="np.take(g, x)",
        weights_dot="np.bincount(x, weights=s2s.broadcast_like(weights_dot, weights), minlength=minlength)")
# integer results: the positions of values among sorted ones
nondifferentiable("np.searchsorted(a, v, side='left', sorter=None)",
                  result_shape=shapes.positions_of(1, "v", ("side", "sorter")))
nondifferentiable("np.digitize(x, bins, right=False)", result_shape=shapes.positions_of(0, "x", ("bins", "right")))
nondifferentiable("np.isreal(x)")
# the positions of a triangle's entries (rows, columns): int arrays, of a known length for ints of known value
nondifferentiable("np.triu_indices(n, k=0, m=None)", result_shape=shapes.upper_indices)
nondifferentiable("np.tril_indices(n, k=0, m=None)", result_shape=shapes.lower_indices)

# functions without a derivative rule (a call on a differentiated value is refused) whose result may be their
# argument itself or views of it: the ownership analysis follows them (aliasing leaves them to its run-time guard)
# (np.asanyarray, np.ascontiguousarray, np.asfortranarray: rules of their own, returns_view="sometimes" there too)
facts("np.asmatrix(data)", "np.require(a)",
      "np.broadcast_arrays(*args)", "np.trim_zeros(filt)", "np.lib.stride_tricks.as_strided(x)",
      returns_view="sometimes")

# NumPy functions and ndarray methods that change their first argument in place: refused (transforms/ownership.py),
# with the hint of how to write the same without the update (np.copyto, np.put, np.putmask, np.place,
# np.fill_diagonal and np.put_along_axis called as a statement of their own, on a variable, are written as the
# update they are by transforms/ufunc_at.py: these hints are for their other uses, a function value, a result read)
facts("np.copyto(dst, src)", mutates="assign instead: `dst = np.broadcast_to(src, dst.shape).copy()` (or "
                                     "`dst[...] = src` on an array the function made itself)")
facts("np.put(a, ind, v)", "np.ndarray.put(a, ind, v)",
      mutates="build the new array: `flat = a.reshape(-1).copy(); flat[ind] = v; a = flat.reshape(a.shape)`")
facts("np.putmask(a, mask, values)", mutates="use `a = np.where(mask, values, a)` (values of a's shape or a number)")
facts("np.place(arr, mask, vals)", mutates="use `a[mask] = vals` on an array the function made itself")
facts("np.fill_diagonal(a, val)", mutates="for a 2-d array: `i = np.arange(min(a.shape)); a[i, i] = v` on an "
                                          "array the function made itself")
facts("np.put_along_axis(arr, indices, values, axis)",
      mutates="build the array with np.where or an index assignment on an array the function made itself")
# (NumPy's masked-array writers: a plain array is viewed as a masked one and written through the view)
facts("np.ma.putmask(a, mask, values)", mutates="use `a = np.where(mask, values, a)` (values of a's shape or a number)")
facts("np.ma.put(a, indices, values, mode='raise')",
      mutates="build the new array: `flat = a.reshape(-1).copy(); flat[ind] = v; a = flat.reshape(a.shape)`")
facts("np.random.shuffle(x)", mutates="shuffle indices outside the differentiated function and index with them")
# (Python's: `random.shuffle(indices)` of a helper's own list, d2l's data_iter, changes nothing of its caller's)
facts("random.shuffle(x)", "random.Random.shuffle(self, x)",
      mutates="shuffle indices outside the differentiated function and index with them")
facts("np.ndarray.fill(a, value)", mutates="use `a = np.full_like(a, value)`")
facts("np.ndarray.sort(a)", mutates="use `a = np.sort(a)`")
if hasattr(np.ndarray, "itemset"):  # (NumPy < 2)
    facts("np.ndarray.itemset(a, *args)", mutates="use `a[index] = value` on an array the function made itself")
facts("np.ndarray.resize(a, new_shape)", mutates="use `a = np.resize(a, shape)`")
facts("np.ndarray.partition(a, kth)", mutates="use `a = np.partition(a, kth)`")
# operator's in-place functions: `operator.iadd(a, b)` is `a += b` (an array or list a changed in place)
for _op, _sym in (("iadd", "+"), ("isub", "-"), ("imul", "*"), ("itruediv", "/"), ("ifloordiv", "//"), ("imod", "%"),
                  ("ipow", "**"), ("imatmul", "@"), ("iand", "&"), ("ior", "|"), ("ixor", "^"), ("ilshift", "<<"),
                  ("irshift", ">>"), ("iconcat", "+")):
    facts(f"operator.{_op}(a, b)", mutates=f"write `a = a {_sym} b` (a new object) instead")

# the runtime helpers above, linear in their adjoint or tangent (forward mode over them makes Hessians): the
# tangent of each linear parameter is the helper applied to it (`linear=`, derived)
helper_rule(rt_shape.layout_order, "layout_order(a, order)", nondiff=True)
helper_rule(rt.grad_rollaxis, "grad_rollaxis(g, a, axis, start)", shape_only=("a",), linear=("g",))
helper_rule(rt.grad_diagonal, "grad_diagonal(g, a, offset, axis1, axis2)", shape_only=("a",), linear=("g",))
helper_rule(rt.grad_delete, "grad_delete(g, arr, obj, axis)", shape_only=("arr",), linear=("g",))
helper_rule(rt.grad_insert, "grad_insert(g, arr, obj, values, axis, which)", shape_only=("arr", "values"), linear=("g",))
helper_rule(rt.grad_repeat, "grad_repeat(g, a, repeats, axis)", shape_only=("a",), linear=("g",))
helper_rule(rt.grad_take, "grad_take(g, a, indices, axis)", shape_only=("a",), linear=("g",))
helper_rule(rt.grad_take_along_axis, "grad_take_along_axis(g, arr, indices, axis)", shape_only=("arr",),
            linear=("g",))
helper_rule(rt.grad_pad, "grad_pad(g, array, pad_width, mode)", shape_only=("array",), linear=("g",),
            real=shapes.real_scatter)  # (g's entries, in the dtype of array and g)
helper_rule(rt.pad_tangent, "pad_tangent(t, array, pad_width, mode)", shape_only=("array",), linear=("t",))
# (a: the sorting order is piecewise constant in it)
helper_rule(rt.grad_sort, "grad_sort(g, a, axis)", shape_only=("a",), linear=("g",))
helper_rule(rt.sort_tangent, "sort_tangent(t, a, axis)", shape_only=("a",), linear=("t",))
helper_rule(rt.grad_partition, "grad_partition(g, ans, a, kth, axis)", shape_only=("ans", "a"), linear=("g",))
helper_rule(rt.partition_tangent, "partition_tangent(t, ans, a, kth, axis)", shape_only=("ans", "a"), linear=("t",))
helper_rule(rt.grad_diff, "grad_diff(g, a, n, axis)", shape_only=("a",), linear=("g",),
            result_shape=shapes.differenced_back, real=shapes.real_of_first(4))  # (in g's dtype)
helper_rule(rt.grad_split, "grad_split(g, ans, ary, axis, kind=None)", shape_only=("ans", "ary"), linear=("g",),
            result_shape=shapes.split_back)
helper_rule(rt.split_tangent, "split_tangent(t, ans, ary, indices_or_sections, axis, kind=None)",
            shape_only=("ans", "ary"), structured=True, linear=("t",))
helper_rule(rt.grad_meshgrid, "grad_meshgrid(g, ans, xi, indexing)", shape_only=("ans", "xi"), structured=True,
            linear=("g",))
helper_rule(rt.meshgrid_tangent, "meshgrid_tangent(xi, t, sparse, indexing)", shape_only=("xi",), structured=True,
            linear=("t",))
helper_rule(rt.grad_column_stack, "grad_column_stack(g, tup)", shape_only=("tup",), structured=True, linear=("g",))
helper_rule(rt.grad_append, "grad_append(g, arr, values, axis, which)", shape_only=("arr", "values"),
            linear=("g",))
helper_rule(rt.append_tangent, "append_tangent(t_arr, t_values, arr, values, axis)", shape_only=("arr", "values"),
            linear=("t_arr", "t_values"))
helper_rule(rt.grad_np_select, "grad_np_select(g, condlist, choicelist, default, which)",
            shape_only=("choicelist", "default"), structured=True, linear=("g",))
helper_rule(rt.np_select_tangent, "np_select_tangent(condlist, choicelist, default, t_choices, t_default)",
            shape_only=("choicelist", "default"), linear=("t_choices", "t_default"))
