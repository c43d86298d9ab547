"""Float32 weights held by a module, read as `float32_weights_module.W` by tests/test_mixed_dtypes.py."""
import numpy as np

W = np.random.default_rng(16).normal(size=(2, 5))[1].astype(np.float32)
D = {"w": W}
