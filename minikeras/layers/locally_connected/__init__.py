"""Locally-connected (unshared-weight convolution) layers."""
