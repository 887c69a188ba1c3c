"""A batch of zero samples goes through every layer family with the right output shape, as in
tf.keras (a predict on an empty slice, a filtered batch): nothing may infer a -1 dimension
from zero elements."""
import numpy as np
import pytest

from minikeras import layers as L

CASES = [
    ("flatten", lambda: L.Flatten(), (4, 4, 2)),
    ("reshape", lambda: L.Reshape((-1, 2)), (4, 4, 2)),
    ("conv2d", lambda: L.Conv2D(3, 3), (5, 5, 2)),
    ("conv2d_transpose", lambda: L.Conv2DTranspose(2, 3, strides=2), (4, 4, 2)),
    ("conv1d_transpose", lambda: L.Conv1DTranspose(2, 3), (5, 2)),
    ("separable_conv2d", lambda: L.SeparableConv2D(2, 3), (5, 5, 2)),
    ("depthwise_conv2d", lambda: L.DepthwiseConv2D(3), (5, 5, 2)),
    ("max_pooling2d", lambda: L.MaxPooling2D(), (4, 4, 2)),
    ("lstm", lambda: L.LSTM(3), (5, 2)),
    ("gru_sequences", lambda: L.GRU(3, return_sequences=True), (5, 2)),
    ("bidirectional", lambda: L.Bidirectional(L.SimpleRNN(3)), (5, 2)),
    ("conv_lstm2d", lambda: L.ConvLSTM2D(2, 3), (3, 5, 5, 2)),
    ("locally_connected1d", lambda: L.LocallyConnected1D(2, 3), (6, 2)),
    ("locally_connected2d", lambda: L.LocallyConnected2D(2, 3), (5, 5, 2)),
    ("time_distributed", lambda: L.TimeDistributed(L.Dense(2)), (3, 4)),
    ("layer_normalization", lambda: L.LayerNormalization(), (4, 3)),
]


@pytest.mark.parametrize("name,make,shape", CASES, ids=[c[0] for c in CASES])
def test_empty_batch_keeps_the_per_sample_output_shape(name, make, shape):
    layer = make()
    layer.build((None,) + shape)
    expected = tuple(layer.compute_output_shape((None,) + shape))[1:]
    out = layer(np.zeros((0,) + shape, "float32"))
    assert tuple(out.shape) == (0,) + expected
    # the same layer still gives a real batch the same per-sample shape
    assert tuple(layer(np.ones((2,) + shape, "float32")).shape) == (2,) + expected
