"""AST passes of s2s, one job per module.

desugar -> exits -> lower -> analysis -> reverse -> optimize
"""
