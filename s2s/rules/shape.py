"""Rules for functions that move values without changing them."""

from s2s.rules import defrule, family

family(elementwise=False)

defrule("np.reshape(a, shape=None, order='C')", returns_view=True, methods=("reshape",), a="np.reshape(g, np.shape(a))",
        a_dot="np.reshape(a_dot, np.shape(ans))")
defrule("np.ravel(a, order='C')", returns_view=True, methods=("ravel", "flatten"), a="np.reshape(g, np.shape(a))", a_dot="np.ravel(a_dot)")
defrule("np.transpose(a, axes=None)", returns_view=True, methods=("transpose",), a="s2s.grad_transpose(g, axes)",
        a_dot="np.transpose(a_dot, axes)")
defrule("np.swapaxes(a, axis1, axis2)", returns_view=True, methods=("swapaxes",), a="np.swapaxes(g, axis1, axis2)",
        a_dot="np.swapaxes(a_dot, axis1, axis2)")
defrule("np.moveaxis(a, source, destination)", returns_view=True, a="np.moveaxis(g, destination, source)",
        a_dot="np.moveaxis(a_dot, source, destination)")
defrule("np.squeeze(a, axis=None)", returns_view=True, methods=("squeeze",), a="s2s.grad_squeeze(g, a, axis)",
        a_dot="np.squeeze(a_dot, axis)")
defrule("np.expand_dims(a, axis)", returns_view=True, a="s2s.grad_expand_dims(g, axis)",
        a_dot="np.expand_dims(a_dot, axis)")
defrule("np.broadcast_to(array, shape)", returns_view=True, array="unbroadcast(g, array)",
        array_dot="np.broadcast_to(array_dot, shape)")
defrule("np.atleast_1d(a)", returns_view=True, a="np.reshape(g, np.shape(a))", a_dot="np.atleast_1d(a_dot)")
defrule("np.atleast_2d(a)", returns_view=True, a="np.reshape(g, np.shape(a))", a_dot="np.atleast_2d(a_dot)")
defrule("np.concatenate(arrays, axis=0)", arrays="s2s.grad_concatenate(g, arrays, axis)",
        arrays_dot="np.concatenate(s2s.dense_list(arrays_dot, arrays), axis)")
defrule("np.stack(arrays, axis=0)", arrays="s2s.grad_stack(g, arrays, axis)",
        arrays_dot="np.stack(s2s.dense_list(arrays_dot, arrays), axis)")
defrule("np.vstack(tup)", tup="s2s.grad_vstack(g, tup)",
        tup_dot="np.vstack(s2s.dense_list(tup_dot, tup))")
defrule("np.hstack(tup)", tup="s2s.grad_concatenate(g, tup, 0 if np.ndim(tup[0]) == 1 else 1)",
        tup_dot="np.hstack(s2s.dense_list(tup_dot, tup))")
defrule("np.flip(m, axis=None)", returns_view=True, m="np.flip(g, axis)", m_dot="np.flip(m_dot, axis)")
defrule("np.tile(A, reps)", A="s2s.grad_tile(g, A, reps)", A_dot="np.tile(A_dot, reps)")
defrule("np.diag(v, k=0)", returns_view="sometimes", v="s2s.grad_diag(g, v, k)", v_dot="np.diag(v_dot, k)")
