"""The bottom floor: Tensor, Variable, config, random, session state, nest, registry (NumPy only)."""
