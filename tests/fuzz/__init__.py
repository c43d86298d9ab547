"""Differential fuzzing of s2s: random differentiable programs checked against finite differences and autograd.

`programs` writes the programs (as source text), `oracle` loads one and compares every derivative s2s
computes for it with central differences and autograd, `explore` runs many outside pytest.
"""
