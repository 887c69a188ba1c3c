"""Data-parallel training steps on the two cores, for stacks of per-sample layers.

A Sequential model made only of layers that treat every sample on its own (Dense, Dropout,
Activation, Flatten, ReLU, LeakyReLU; no BatchNormalization or anything else that couples the
samples of a batch) trains a batch as two halves, each half's forward and backward pass whole on
its own Python thread with BLAS single-threaded (NumPy releases the GIL in the products and the
elementwise passes). The loss, the metrics and the optimizer see the whole batch:

1. Dropout masks are drawn for the whole batch first, in layer order, so the random stream is
   the one the serial step draws (seeded results do not depend on the core count).
2. Both halves run forward (one hand-off); the outputs (and the logits a softmax or sigmoid
   remembers for the losses) are joined into one batch: new tracked tensors that cut the graph.
3. The compiled loss runs on the whole batch (this thread), so any loss, sample weighting or
   regularization is the serial step's; its gradient with respect to the cut is split by rows.
4. Both halves run backward from their rows of that gradient (second hand-off); each weight's
   two partial gradients are added (the same sums to float32 round-off).
5. `apply_gradients` as usual: inside a one-BLAS-thread step its large updates are split over
   the two threads (`parallel.split_flat`, third hand-off).

Anything else (other layers, masks, a custom `compute_loss`, one usable core, small products)
keeps the serial step (`runner_for` returns None).
"""
import numpy as np

from .. import activations
from ..core.random import make_rng
from ..core.tensor import Tensor, compute_gradients, record, recording_scope
from ..layers import Activation, Dense, Dropout, Flatten, LeakyReLU, ReLU
from ..ops import parallel
from ..ops.nn import keep_mask
from .model_kind import is_sequential

# Off switch for A/B measurements (benchmarks) and tests of the serial path.
ENABLED = True
# Steps with fewer multiply-adds (in the products of the forward pass) stay serial: the second
# forward and backward pass through the layers costs more Python than the second core saves.
_MIN_MACS = 1 << 22
_PER_SAMPLE_LAYERS = (Activation, Dense, Dropout, Flatten, LeakyReLU, ReLU)


def runner_for(model, x, y):
    """A `_DataParallelStep` for this batch of `model`'s training, or None (serial step)."""
    if not ENABLED or not parallel.can_split() or not is_sequential(model):
        return None
    if type(model).compute_loss is not _model_method(model, "compute_loss"):
        return None
    stack = getattr(model, "_stack", None)
    inputs = getattr(model, "inputs", None)
    if not stack or not inputs or len(inputs) != 1 or not isinstance(x, np.ndarray) or \
            y is None:
        return None
    reference = inputs[0]
    if x.dtype != reference.dtype or x.ndim != len(reference.shape) or len(x) < 4:
        return None
    if not all(_per_sample(layer) for layer in stack):
        return None
    shapes, macs = [tuple(x.shape)], 0
    for layer in stack:
        shape = tuple(layer.compute_output_shape(shapes[-1]))
        if isinstance(layer, Dense):
            macs += int(np.prod(shapes[-1])) * layer.units
        shapes.append(shape)
    if macs < _MIN_MACS:
        return None
    return _DataParallelStep(model, stack, shapes)


def _model_method(model, name):
    """`Model.<name>` (the class that defines the training loop), found through the MRO."""
    for cls in type(model).__mro__:
        if cls.__name__ == "Model" and name in cls.__dict__:
            return cls.__dict__[name]
    return None


def _per_sample(layer):
    """Whether `layer` (an exact built-in class, built, without masks or activity losses)
    computes each sample's output from that sample alone."""
    if type(layer) not in _PER_SAMPLE_LAYERS or not layer.built or \
            layer.activity_regularizer is not None:
        return False
    if isinstance(layer, (Dense, Activation)):
        function = layer.activation
        name = getattr(function, "__name__", None)
        return name is not None and getattr(activations, name, None) is function
    if isinstance(layer, Dropout):
        return layer.noise_shape is None and 0 <= layer.rate < 1
    return True


class _DataParallelStep:
    """One training step of a per-sample stack, run as two halves of the batch."""

    def __init__(self, model, stack, shapes):
        self.model, self.stack, self.shapes = model, stack, shapes

    def run(self, x, y, sample_weight):
        model = self.model
        keeps = self._dropout_keeps()
        outputs = {}

        def forward(lo, hi):
            with recording_scope():
                tensor = Tensor(x[lo:hi])
                for layer, keep in zip(self.stack, keeps):
                    if keep is not None:
                        tensor = _dropout_rows(tensor, keep[lo:hi], layer.rate)
                    elif layer._call_accepts_training:
                        tensor = layer(tensor, training=True)
                    else:
                        tensor = layer(tensor)
            outputs[lo] = tensor
        parallel.run_split(forward, len(x))
        halves = [outputs[lo] for lo in sorted(outputs)]
        y_pred, cut = _joined(halves)
        with recording_scope():
            loss = model.compute_loss(x, y, y_pred, sample_weight)
        model._validate_target_and_loss(y, loss)
        variables = model.trainable_weights
        leaves = [leaf for leaf, _ in cut]
        grads = compute_gradients(loss, leaves + variables)
        cut_grads, grads = grads[:len(leaves)], grads[len(leaves):]
        partials = {}

        def backward(lo, hi):
            half = outputs[lo]
            targets, seeds = [], []
            for (_, parts), gradient in zip(cut, cut_grads):
                if gradient is not None:
                    targets.append(parts(half))
                    seeds.append(gradient[lo:hi])
            partials[lo] = compute_gradients(targets, variables, seeds) if targets else \
                [None] * len(variables)
        parallel.run_split(backward, len(x))
        for lo in sorted(partials):
            grads = [_add(total, part) for total, part in zip(grads, partials[lo])]
        model.optimizer.apply_gradients(zip(grads, variables))
        return model.compute_metrics(x, y, y_pred, sample_weight)

    def _dropout_keeps(self):
        """Each Dropout's keep mask for the whole batch (None for other layers), drawn in layer
        order from the generator the layer would use: the serial step's draws."""
        keeps = []
        for layer, shape in zip(self.stack, self.shapes):
            if isinstance(layer, Dropout) and layer.rate > 0:
                rng = layer._rng if layer._rng is not None else make_rng(None)
                keeps.append(keep_mask(rng, shape, layer.rate))
            else:
                keeps.append(None)
        return keeps


def _dropout_rows(x, keep, rate):
    """`ops.dropout` with its keep mask given: the same scaled mask, product and gradient."""
    xd = x.data
    mask = np.multiply(keep, np.asarray(1.0 / (1.0 - rate), dtype=xd.dtype), dtype=xd.dtype)
    return record(xd * mask, (x,), lambda g, needs: (g * mask,))


def _joined(halves):
    """The whole batch's output as a new tracked tensor (with the logits the losses read, when
    the halves remember theirs), and the cut: `(leaf, part)` pairs, `part(half_output)` being
    the half's tensor whose rows the leaf holds."""
    y_pred = _leaf([half.data for half in halves])
    cut = [(y_pred, lambda half: half)]
    logits = [getattr(half, "_keras_logits", None) for half in halves]
    if all(isinstance(item, Tensor) for item in logits):
        y_pred._keras_logits = _leaf([item.data for item in logits])
        cut.append((y_pred._keras_logits, lambda half: half._keras_logits))
    return y_pred, cut


def _leaf(parts):
    leaf = Tensor(np.concatenate(parts, axis=0))
    leaf._tracked = True
    return leaf


def _add(total, part):
    """`total + part` (None is nothing), in place in `total` when it owns its data."""
    if part is None:
        return total
    if total is None:
        return part
    if total.base is None and total.flags.writeable and total.dtype == np.result_type(
            total, part) and total.shape == part.shape:
        total += part
        return total
    return total + part
