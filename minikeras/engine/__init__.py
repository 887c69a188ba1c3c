"""The engine floor: Layer, InputSpec, KerasTensor and Node, and the TFOpLambda layers that give
KerasTensors their operators (imported here so that every KerasTensor has them)."""
from . import base_layer, input_spec, keras_tensor, tf_op_layer  # noqa: F401
