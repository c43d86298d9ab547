"""Rules for records (namedtuples, dataclass instances): reading a field, building a record and
replacing fields (the helpers of s2s/runtime/structures.py that transforms/objects.py writes), and
the adjoint helpers themselves, so that forward mode runs over reverse-mode code (Hessians).

`names` (the field names) and `cls` (the record type) only steer the helpers: no derivative.
"""

import dataclasses

from s2s import runtime as rt
from s2s.rules import defrule_for as _base_defrule_for
from s2s.rules import result_shapes
from s2s.rules.runtime_rules import defrule_for


def _steering(rule, *params):
    for p in params:
        rule.jvp[p] = None
    return rule


# obj.a.b -> s2s.field(obj, "a", "b"); `*names` makes `obj` a container for the activity analysis
# (its adjoint is accumulated with s2s.add, never with `+`, which would concatenate two namedtuples)
_steering(defrule_for(rt.field, "field(obj, *names)", structured=True, result_shape=result_shapes.field,
                      obj="s2s.field_grad(g, obj, names)", obj_dot="s2s.field_tangent(obj_dot, obj, names)"),
          "names").returns_view = True  # the very object the record holds
# the starting value of an attribute the function stores (transforms/objects.py): a field read
_steering(defrule_for(rt.field_if_set, "field_if_set(obj, *names)", structured=True,
                      obj="s2s.field_grad(g, obj, names)", obj_dot="s2s.field_tangent(obj_dot, obj, names)"),
          "names").returns_view = True
# returns None; `*args`: the object stays a container for the activity analysis (its adjoint added with s2s.add)
# other attributes of an object the function stores into: a field read, checked to be a plain attribute
_steering(defrule_for(rt.plain_attribute, "plain_attribute(obj, *names)", structured=True,
                      obj="s2s.field_grad(g, obj, names)", obj_dot="s2s.field_tangent(obj_dot, obj, names)"),
          "names").returns_view = True
_base_defrule_for(rt.store_field, "store_field(obj, *args)", nondiff=True)
# cls(a, b) / cls(w=a, b=b) -> s2s.record((a, b), cls, "w", "b"): the record holds the very values (a view)
_steering(defrule_for(rt.record, "record(values, cls, *names)", structured=True,
                      values="s2s.record_grad(g, ans, names)",
                      values_dot="s2s.record_tangent(values_dot, ans, names)"), "names").returns_view = True
# p.forward(x) -> C.forward(s2s.receiver(p, C, "forward"), x) (transforms/objects.py): p itself, checked
_steering(defrule_for(rt.receiver, "receiver(obj, *steer)", structured=True, obj="g", tangent_from_adjoint=True,
                      result_shape=result_shapes.receiver), "steer").returns_view = True
# obj._replace(w=v) / dataclasses.replace(obj, w=v) -> s2s.replace(obj, (v,), "w")
_steering(defrule_for(rt.replace, "replace(obj, values, *names)", structured=True, tangent_from_adjoint=True,
                      obj="s2s.replace_grad(g, obj, names)", values="s2s.record_grad(g, ans, names)",
                      values_dot="s2s.record_tangent(values_dot, ans, names)"), "names").returns_view = True
# the call itself, as transforms/ownership.py sees it before transforms/objects.py rewrites it: a primitive whose
# result shares the fields not replaced (no templates: differentiated anywhere else, it is refused)
_base_defrule_for(dataclasses.replace, "replace(obj, *changes)").returns_view = True

# the adjoint and tangent helpers: linear in their first argument
defrule_for(rt.field_grad, "field_grad(g, obj, names)", structured=True, shape_only=("obj",), linear=("g",),
            result_shape=result_shapes.field_grad)
defrule_for(rt.field_tangent, "field_tangent(t, obj, names)", structured=True, shape_only=("obj",), linear=("t",))
defrule_for(rt.record_grad, "record_grad(g, like, names)", structured=True, shape_only=("like",), linear=("g",))
defrule_for(rt.record_tangent, "record_tangent(values_dot, like, names)", structured=True, shape_only=("like",), linear=("values_dot",))
defrule_for(rt.replace_grad, "replace_grad(g, obj, names)", structured=True, shape_only=("obj",), linear=("g",))
defrule_for(rt.is_record, "is_record(x)", nondiff=True)
