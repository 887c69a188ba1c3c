"""`PreprocessingLayer`: the base of the layers with a state learnt by `adapt()`
(Normalization, Discretization, StringLookup/IntegerLookup, TextVectorization), as in tf.keras.
"""
from ...engine.base_layer import Layer
from .preprocessing_utils import adapt_batches


class PreprocessingLayer(Layer):
    """A layer whose state comes from data through `adapt()`.

    Subclasses implement `update_state(batch)` (and usually `reset_state()` and
    `finalize_state()`); `adapt` resets the state, feeds every batch, then finalises.

    Example:

        class Maximum(keras.layers.experimental.preprocessing.PreprocessingLayer):
            def reset_state(self):
                self.maximum = None
            def update_state(self, batch):
                top = np.max(batch)
                self.maximum = top if self.maximum is None else max(self.maximum, top)
            def call(self, inputs):
                return inputs / self.maximum
    """

    @property
    def is_adapted(self):
        """Whether `adapt()` has run on this layer."""
        return getattr(self, "_is_adapted", False)

    def update_state(self, data):
        raise NotImplementedError(f"{type(self).__name__} does not implement `update_state()`.")

    def reset_state(self):
        """Back to the state before any `adapt()`; nothing to do by default."""

    def finalize_state(self):
        """Turn the accumulated state into the layer's weights; nothing to do by default."""

    def compile(self, run_eagerly=None, steps_per_execution=None):
        """Accepted as in tf.keras, where it configures the adapt function; adapt always runs
        eagerly here, one batch at a time."""
        self._adapt_compile_args = {"run_eagerly": run_eagerly,
                                    "steps_per_execution": steps_per_execution}

    def adapt(self, data, batch_size=None, steps=None):
        """Learns the layer's state from `data`: an array, list, Sequence, dataset or generator
        of batches (features only)."""
        self.reset_state()
        for batch in adapt_batches(data, batch_size, steps):
            self.update_state(batch)
        self.finalize_state()
        self._is_adapted = True
