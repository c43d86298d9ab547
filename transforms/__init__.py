"""AST passes of s2s, one job per module, installed as `s2s.transforms`.

The order they run in is listed in one place, `s2s/pipeline.py` (LOWERING, then analysis, reverse
or forward, then the optimizer's steps, OPTIMIZER); `s2s show --stages` prints the code after each
pass under those names. The modules import each other, the standard library and NumPy only: what they
need from the rest of s2s comes from the Context in `context.py`, which `s2s.pipeline` installs.
The facts passes attach to AST nodes are listed in `annotations.py`.
"""
