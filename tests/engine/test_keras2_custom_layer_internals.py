"""Keras 2 custom-layer habits found in CyberZHG's libraries (keras-self-attention's
ResidualScaledDotProductAttention, keras-multi-head's MultiHead wrapper and MaskFlatten)."""
import numpy as np

import minikeras as keras
from minikeras import backend as K


class PickSecondMask(keras.layers.Layer):
    """Indexes `mask[1]` in `call`, as tf.keras hands `call` the inputs' masks while the
    functional graph is built (with no compute_output_shape of its own)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        return inputs[0] * K.expand_dims(K.cast(mask[1], K.floatx()), axis=-1)

    def compute_mask(self, inputs, mask=None):
        return mask[1]


def test_call_gets_placeholder_masks_while_the_functional_graph_is_built():
    ids = keras.layers.Input(shape=(4,))
    dense_in = keras.layers.Input(shape=(4, 3))
    embedded = keras.layers.Embedding(5, 3, mask_zero=True)(ids)
    out = PickSecondMask()([dense_in, embedded])
    assert out.shape == (None, 4, 3)
    model = keras.Model([ids, dense_in], out)
    x_ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    x = np.arange(24, dtype="float32").reshape(2, 4, 3)
    expected = x * (x_ids != 0)[..., None]
    np.testing.assert_array_equal(model.predict([x_ids, x], verbose=0), expected)


class WrapperReadingOwnLists(keras.layers.Wrapper):
    """MultiHead's pattern: its own variables from `_trainable_weights` plus the copies'."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(1,), initializer="ones")
        self.count = self.add_weight(name="count", shape=(), initializer="zeros", trainable=False)
        self.layer.build(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        return self.layer(inputs) * self.scale

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    @property
    def trainable_weights(self):
        return self._trainable_weights[:] + self.layer.trainable_weights

    @property
    def non_trainable_weights(self):
        return self._non_trainable_weights[:] + self.layer.non_trainable_weights


def test_private_weight_lists_hold_the_layers_own_variables():
    layer = WrapperReadingOwnLists(keras.layers.Dense(2))
    layer.build((None, 3))
    assert [w.name.split("/")[-1] for w in layer._trainable_weights] == ["scale:0"]
    assert [w.name.split("/")[-1] for w in layer._non_trainable_weights] == ["count:0"]
    names = [w.name.split("/")[-1] for w in layer.trainable_weights]
    assert names == ["scale:0", "kernel:0", "bias:0"]
    assert layer.count_params() == 1 + 1 + 3 * 2 + 2


def test_appending_to_the_private_list_adds_a_variable():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    extra = K.variable(np.ones(2, "float32"), name="extra")
    layer._trainable_weights.append(extra)
    assert any(w is extra for w in layer.trainable_weights)
    assert len(layer.weights) == 3


class MaskFlatten(keras.layers.Flatten):
    """A Flatten passing its input mask through (keras-multi-head's tests)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return mask


def test_time_distributed_keeps_the_mask_an_inner_compute_mask_returns():
    layer = keras.layers.TimeDistributed(MaskFlatten())
    layer.build((None, 4, 3, 2))
    x = np.ones((2, 4, 3, 2), "float32")
    mask = np.array([[True, True, False, False], [True, False, False, False]])
    out_mask = layer.compute_mask(keras.backend.constant(x), keras.backend.constant(mask))
    np.testing.assert_array_equal(np.asarray(out_mask.data), mask)


class EmbeddingReturningWeights(keras.layers.Embedding):
    """keras-bert's TokenEmbedding: overrides `call` only, returning [embedded, weights]."""

    def compute_mask(self, inputs, mask=None):
        return [super().compute_mask(inputs, mask), None]

    def call(self, inputs):
        return [super().call(inputs), self.embeddings + 0]


def test_subclass_overriding_call_only_gets_the_shapes_of_its_call():
    ids = keras.layers.Input(shape=(6,))
    embedded, weights = EmbeddingReturningWeights(20, 8, mask_zero=True)(ids)
    assert embedded.shape == (None, 6, 8)
    assert weights.shape == (20, 8)
    model = keras.Model(ids, [embedded, weights])
    x = np.array([[1, 2, 3, 0, 0, 0]])
    out, table = model.predict(x, verbose=0)
    np.testing.assert_array_equal(out[0], table[x[0]])
