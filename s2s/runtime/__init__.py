"""The runtime that generated derivative code calls: inside generated code, `s2s` is this module.

Printed code starts with `import s2s.runtime as s2s`, so `s2s.finish(g, x)`, `s2s.grad_dot_a(g, a, b)`
and the rest are the names below. They live in modules by purpose and are all re-exported here:

- `zero`: the zero adjoint ZERO, `is_zero`, and `@linear_in_g`, the guard that makes a helper
  linear in its adjoint return the zero adjoint for a zero one;
- `arrays`: array-library dispatch (NumPy, Dask, CuPy...): is_array, is_foreign, shape_of, broadcasts;
- `adjoint`: adjoint arithmetic: add, part, unbroadcast, finish;
- adjoint (and tangent) helpers beside the rule family they serve: `indexing`, `reductions`,
  `elementwise`, `linalg`, `einsum`, `shape`, `rearrange` (gathers, sort, splits), `creation`, `sequences`,
  `signal` (convolutions, trapezoid, polyval), `statistics` (average, cov), `matrix_functions` (matrix_power, expm);
- `tangents`: helpers only forward-mode code calls;
- `desugared`: helpers that desugared user code calls (as_sequence, astype, item, copy, unshared...).

Every helper here reports `__module__ == "s2s.runtime"`: the transforms tell s2s's own helpers
(which have rules) from user functions (which they read and differentiate) by that name.
"""

from __future__ import annotations

from s2s.runtime.adjoint import (  # noqa: F401
    add,
    as_container_of,
    cast_back,
    finish,
    leaves_apart,
    part,
    seed_of,
    unbroadcast,
    zero_of_real,
    zeros_like_value,
)
from s2s.runtime.along_axis import (  # noqa: F401
    along_axis_out,
    along_axis_out_grad,
    along_axis_results,
    along_axis_rows,
    along_axis_rows_grad,
)
from s2s.runtime.arrays import (  # noqa: F401
    broadcast_to_like,
    float_items,
    is_array,
    is_foreign,
    is_sparse,
    numpy_shape,
    shape_of,
)
from s2s.runtime.calls import (  # noqa: F401
    FunctionAdjoint,
    LocalCode,
    call_closure_jvp,
    call_closure_vjp,
    call_copied,
    call_jvp,
    call_jvp_of_jvp,
    call_plain,
    call_star_jvp,
    call_star_vjp,
    call_vjp,
    function_adjoint_parts,
    function_tangent,
    local_function,
)
from s2s.runtime.calls_hvp import (  # noqa: F401
    call_star_jvp_of_jvp,
    call_star_vjp_jvp,
    call_vjp_jvp,
    pullback_jvp,
    split_vjp_jvp,
)
from s2s.runtime.closures_hvp import (  # noqa: F401
    call_closure_jvp_of_jvp,
    call_closure_vjp_jvp,
    call_vjp_closure_jvp,
)
from s2s.runtime.creation import (  # noqa: F401
    arange_args_tangent,
    arange_roles,
    arange_tangent,
    divmod_tangent,
    fill_tangent,
    grad_arange,
    grad_arange_args,
    grad_divmod,
    grad_fill,
    grad_linspace,
    linspace_tangent,
)
from s2s.runtime.desugared import (  # noqa: F401
    Refusal,
    as_sequence,
    astype,
    copy,
    effect_free,
    global_value,
    has_key,
    inplace_check,
    is_float_dtype,
    item,
    item_number,
    mapping_keys,
    missing_attribute,
    not_an_iterator,
    numbers_or_arrays,
    set_global,
    star_count,
    stop_gradient,
    unpack_count,
    unshared,
    zip_row,
)
from s2s.runtime.einsum import (  # noqa: F401
    einsum_jvp,
    einsum_jvp_dot,
    einsum_tangent,
    grad_einsum,
    grad_einsum_parts,
    grad_einsum_parts_dot,
)
from s2s.runtime.elementwise import (  # noqa: F401
    balanced_eq,
    clip_mask,
    fdiv,
    grad_clip,
    grad_where,
    log_scale,
    power_slope,
    power_slope_dy,
    power_term,
    power_term_dy,
    real_part,
    safe_div,
)
from s2s.runtime.indexing import (  # noqa: F401
    add_item_grad,
    added_at,
    append_grads,
    append_grads_owned,
    getitem_grad,
    grad_index_concat,
    index_concat,
    index_concat_tangent,
    index_item,
    item_grad,
    setitem,
    setitem_grads,
    slice_kept,
    subtracted_at,
    written_into,
)
from s2s.runtime.linalg import (  # noqa: F401
    check_ties,
    det_adjoint,
    det_adjoint_dot_a,
    det_adjoint_dot_ans,
    dot_method,
    eigh_tangent,
    eigh_tangent_dot,
    eye_product,
    grad_cross,
    grad_det,
    grad_dot_a,
    grad_dot_b,
    grad_eigh,
    grad_eigh_dot,
    grad_inner,
    grad_kron,
    grad_lstsq,
    grad_matmul_a,
    grad_matmul_b,
    grad_multi_dot,
    grad_multi_dot_dot,
    grad_nuclear,
    grad_qr,
    grad_slogdet,
    grad_slogdet_dot,
    grad_solve_a,
    grad_solve_a_dot,
    grad_solve_b,
    grad_solve_b_dot,
    grad_svd,
    grad_tensordot,
    grad_trace,
    hermitian_read,
    hermitian_read_adjoint,
    lstsq_tangent,
    matrix_norm_slope,
    multi_dot_tangent,
    multi_dot_tangent_dot,
    nuclear_checked,
    pinv_full_rank,
    qr_tangent,
    slogdet_tangent,
    slogdet_tangent_dot,
    solve_columns,
    solve_lower,
    solve_uncolumns,
    solves_vectors,
    svd_tangent,
    tril_fold,
    tril_half_diagonal,
)
from s2s.runtime.matrix_functions import (  # noqa: F401
    block_upper,
    upper_right,
)
from s2s.runtime.rearrange import (  # noqa: F401
    append_tangent,
    diff_ends,
    diff_ends_tangent,
    grad_append,
    grad_column_stack,
    grad_delete,
    grad_diagonal,
    grad_diff,
    grad_diff_ends,
    grad_insert,
    grad_meshgrid,
    grad_np_select,
    grad_pad,
    grad_partition,
    grad_repeat,
    grad_rollaxis,
    grad_sort,
    grad_split,
    grad_take,
    grad_take_along_axis,
    meshgrid_tangent,
    np_select_tangent,
    pad_tangent,
    partition_tangent,
    sort_tangent,
    split_tangent,
)
from s2s.runtime.reductions import (  # noqa: F401
    builtin_sum_tangent,
    cumprod_tangent,
    cumprod_tangent_dot,
    euclidean_norm,
    expand_reduced,
    grad_builtin_sum,
    grad_cumprod,
    grad_cumprod_dot,
    grad_cumsum,
    grad_extreme,
    grad_extreme_where,
    grad_mean_where,
    grad_median,
    grad_norm,
    grad_prod,
    grad_prod_dot,
    grad_quantile,
    grad_running_extreme,
    grad_select,
    grad_std,
    grad_sum_where,
    grad_var,
    keep,
    median_tangent,
    quantile_tangent,
    reduced_size,
    running_extreme_tangent,
    select_tangent,
)
from s2s.runtime.sequences import (  # noqa: F401
    add_seq_tangent,
    as_sequence_tangent,
    bitor_tangent,
    dict_pairs_tangent,
    grad_add_seq,
    grad_as_sequence,
    grad_bitor,
    grad_dict_pairs,
    grad_iterated,
    grad_mult_seq,
    lists_as_they_are,
    mult_seq_tangent,
)
from s2s.runtime.shape import (  # noqa: F401
    array_grad,
    grad_concatenate,
    grad_diag,
    grad_expand_dims,
    grad_hstack,
    grad_squeeze,
    grad_stack,
    grad_tile,
    grad_transpose,
    grad_vstack,
    layout_order,
    outer_operand,
    outer_reduced,
    shape_arguments,
)
from s2s.runtime.signal import (  # noqa: F401
    grad_convolve,
    grad_correlate,
    grad_gradient,
    grad_interp,
    grad_trapezoid,
    gradient_tangent,
    interp_slope,
    interp_xp_tangent,
    polyder_coefficients,
    polyval_powers,
    vander_powers,
)
from s2s.runtime.statistics import (  # noqa: F401
    average_weights,
    cov_cross,
    grad_average_weights,
    grad_cov,
)
from s2s.runtime.structures import (  # noqa: F401
    ARRAY_NAMES,
    add_records,
    as_given,
    check_fields,
    field,
    field_grad,
    field_if_set,
    field_names,
    field_tangent,
    finish_record,
    is_namedtuple,
    is_namedtuple_type,
    is_record,
    plain_attribute,
    read_as_stored,
    rebuild,
    receiver,
    record,
    record_grad,
    record_tangent,
    replace,
    replace_grad,
    set_fields,
    store_field,
    transpose_attr,
    transpose_attr_grad,
    transpose_attr_tangent,
    zeros_like_record,
)
from s2s.runtime.tangents import (  # noqa: F401
    array_tangent,
    as_array_like,
    broadcast_like,
    dense_list,
    dense_tangent,
)
from s2s.runtime.writers import (  # noqa: F401
    copied_to,
    filled_diagonal,
    placed,
    put_along,
    put_into,
    putmasked,
    written_tangent,
    written_target_grad,
    written_values_grad,
)
from s2s.runtime.zero import (  # noqa: F401
    ZERO,
    is_zero,
    linear_in_g,
    zero_safe,
)


def _home_here() -> None:
    """Each helper names this package as its module (see the module docstring)."""
    for value in list(globals().values()):
        if callable(value) and getattr(value, "__module__", "").startswith("s2s.runtime."):
            try:
                value.__module__ = __name__
            except (AttributeError, TypeError):  # a builtin or a class that does not allow it
                pass


_home_here()
