"""The gradient of the code `s2s.grad` would run without its NumPy-path rewrites (trip records, sums of outer
products after their loop, container gradients as made): the code `compile=True` lowers for numba."""

from s2s import api, pipeline


def plain_gradient(f, args, wrt):
    """`s2s.grad(f, wrt)(*args)` from the shape-specialised code made without the NumPy-path rewrites.

        >>> plain_gradient(lambda x: x * x, (3.0,), 0)  # doctest: +SKIP
        6.0
    """
    names = pipeline._wrt_names(f, wrt)
    gen = pipeline.derivative_code(f, names, "grad", True, api._scalar_params(f, args), api._shaped_params(f, args))
    out = gen.bind(f).fn(*args)
    return out[1] if gen.returns_value else out
