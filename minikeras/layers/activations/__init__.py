"""Advanced activation layers (ReLU, Softmax, LeakyReLU, PReLU, ELU, ThresholdedReLU)."""
