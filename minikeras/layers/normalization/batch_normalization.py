"""BatchNormalization: normalise with batch statistics in training, moving averages at inference."""
import logging
import numbers
import warnings

import numpy as np

from ... import constraints, initializers, ops, regularizers
from ...core.session import learning_phase
from ...core.tensor import Tensor, unwrap
from ...engine.argument_checks import validate_axis
from ...engine.base_layer import Layer
from ...engine.flops import per_sample_size
from ...engine.input_spec import InputSpec
from ...ops.batch_norm import apply_activation, batch_moments, batch_norm_inference, \
    batch_norm_train


class BatchNormalization(Layer):
    """Normalises its inputs per feature: in training with the batch mean and (biased) variance,
    at inference with moving averages of them; then scales by `gamma` and shifts by `beta`.

    In training mode (`fit`, or `training=True`) the moving statistics are updated as
    `moving = moving * momentum + batch_statistic * (1 - momentum)`. A layer with
    `trainable=False` always runs in inference mode (the tf.keras 2 rule).

    All tf.keras 2.x arguments are supported: `renorm` (batch renormalisation), `virtual_batch_size`
    ("ghost" batch norm), `adjustment`, `fused` (selects tf.keras' fused-kernel rules: for 4-D/5-D
    inputs with the channel axis first or last, the moving variance is fed the unbiased batch
    variance), and Keras 3's `synchronized` (accepted; there is a single device).

    Example:
    >>> layer = BatchNormalization()
    >>> x = np.random.rand(8, 4).astype("float32")
    >>> y = layer(x, training=True)             # normalised with the batch statistics
    >>> [w.name.split("/")[1] for w in layer.weights]
    ['gamma:0', 'beta:0', 'moving_mean:0', 'moving_variance:0']
    """
    # under mixed_float16: float32 weights and arithmetic, float16 output (as tf.keras)
    _computes_in_variable_dtype = True

    _integer_inputs = "cast"    # as tf.keras' kernels

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, *, renorm=False,
                 renorm_clipping=None, renorm_momentum=0.99, fused=None, trainable=True,
                 virtual_batch_size=None, adjustment=None, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self.axis = _check_axis_argument(axis)
        if synchronized and fused:
            raise ValueError("`fused=True` is not supported when `synchronized=True`.")
        self.synchronized = synchronized
        if synchronized:
            fused = False
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.renorm = renorm
        self.virtual_batch_size = virtual_batch_size
        self.adjustment = adjustment
        if fused:
            self._raise_if_fused_cannot_be_used()
        elif fused is None and not self._fused_can_be_used():
            # fused stays None when it may apply: build() decides from the input rank.
            fused = False
        self.fused = fused
        self.supports_masking = True
        self.renorm_clipping = None
        self.renorm_momentum = renorm_momentum
        if renorm:
            renorm_clipping = renorm_clipping or {}
            keys = ["rmax", "rmin", "dmax"]
            if set(renorm_clipping) - set(keys):
                raise ValueError("Received invalid keys for `renorm_clipping` argument: "
                                 f"{renorm_clipping}. Supported values: {keys}.")
            self.renorm_clipping = renorm_clipping

    def _raise_if_fused_cannot_be_used(self):
        """tf.keras' checks of `fused=True` that need no input shape (rank is checked in build)."""
        if self.renorm:
            raise ValueError("Passing both `fused=True` and `renorm=True` is not supported")
        axis = [self.axis] if isinstance(self.axis, int) else self.axis
        if len(axis) > 1 or axis[0] not in (-4, -3, -1, 1, 3, 4):
            raise ValueError("Passing `fused=True` is only supported when axis is 1 or 3 for "
                             "input rank = 4 or 1 or 4 for input rank = 5. "
                             f"Got axis {list(axis)}")
        if self.virtual_batch_size is not None:
            raise ValueError("Passing `fused=True` is not supported when `virtual_batch_size` "
                             "is specified.")
        if self.adjustment is not None:
            raise ValueError("Passing `fused=True` is not supported when `adjustment` is "
                             "specified.")
        if self.dtype not in ("float16", "bfloat16", "float32"):
            raise ValueError("Passing `fused=True` is only supported when the compute dtype is "
                             f"float16, bfloat16, or float32. Got dtype: {self.dtype}")

    def _fused_can_be_used(self):
        try:
            self._raise_if_fused_cannot_be_used()
            return True
        except ValueError:
            return False

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self.axis = validate_axis(self.axis, input_shape)
        rank = len(input_shape)
        if self.virtual_batch_size is not None:
            self._check_virtual_batch_arguments()
        self._resolve_fused(input_shape)
        axis_to_dim = {a: input_shape[a] for a in self.axis}
        if any(dim is None for dim in axis_to_dim.values()):
            raise ValueError("Input has undefined `axis` dimension. Received input with shape "
                             f"{input_shape} and axis={tuple(self.axis)}")
        self.input_spec = InputSpec(ndim=rank, axes=axis_to_dim)
        if len(axis_to_dim) == 1 and self.virtual_batch_size is None:
            param_shape = (list(axis_to_dim.values())[0],)
        else:
            # The input's rank with 1 on every reduced axis; virtual batches add the group axis.
            param_shape = [axis_to_dim.get(i, 1) for i in range(rank)]
            if self.virtual_batch_size is not None:
                param_shape.insert(1, 1)
                self.axis = [a + 1 for a in self.axis]
        self._param_shape = tuple(param_shape)
        self._create_weights(self._param_shape)
        self.built = True

    def _check_virtual_batch_arguments(self):
        if self.virtual_batch_size <= 0:
            raise ValueError("`virtual_batch_size` must be a positive integer that divides the "
                             "true batch size of the input tensor. "
                             f"Received: virtual_batch_size={self.virtual_batch_size}")
        if 0 in self.axis:
            raise ValueError("When using `virtual_batch_size`, the batch dimension must be 0 and "
                             f"thus axis cannot include 0. Received axis={self.axis}")
        if self.adjustment is not None:
            raise ValueError("When using `virtual_batch_size`, adjustment cannot be specified")

    def _resolve_fused(self, input_shape):
        """tf.keras' choice of the fused kernel: 4-D/5-D input, channel axis first or last."""
        rank = len(input_shape)
        if self.fused is None:
            self.fused = rank in (4, 5)
        elif self.fused and rank not in (4, 5):
            raise ValueError("Batch normalization layers with `fused=True` only support 4D or 5D "
                             f"input tensors. Received tensor with shape: {input_shape}")
        if not self.fused:
            return
        if self.axis in ([1], [rank - 1]):
            return
        if rank == 5:
            self.fused = False   # a 5-D input with another axis silently takes the general path
            return
        raise ValueError("Unsupported axis. The use of `fused=True` is only possible with "
                         f"`axis=1` or `axis=3` for 4D input tensors. Received: "
                         f"axis={tuple(self.axis)}")

    def _create_weights(self, param_shape):
        """gamma, beta, moving_mean, moving_variance, then with renorm moving_stddev, renorm_mean,
        renorm_stddev: tf.keras' names and order."""
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight("gamma", shape=param_shape,
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint, trainable=True)
        if self.center:
            self.beta = self.add_weight("beta", shape=param_shape,
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint, trainable=True)
        self.moving_mean = self.add_weight("moving_mean", shape=param_shape,
                                           initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape=param_shape,
                                               initializer=self.moving_variance_initializer,
                                               trainable=False)
        if not self.renorm:
            return
        variance_init = self.moving_variance_initializer

        def moving_stddev_initializer(shape, dtype=None, **kwargs):
            return np.sqrt(np.asarray(variance_init(shape, dtype=dtype)))
        self.moving_stddev = self.add_weight("moving_stddev", shape=param_shape,
                                             initializer=moving_stddev_initializer,
                                             trainable=False)
        self.renorm_mean = self.add_weight("renorm_mean", shape=param_shape,
                                           initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.renorm_stddev = self.add_weight("renorm_stddev", shape=param_shape,
                                             initializer=moving_stddev_initializer,
                                             trainable=False)

    def call(self, inputs, training=None, mask=None, _fused_activation=None):
        """`_fused_activation` (private; "sigmoid", "tanh", "relu" or "relu6"): also apply that
        activation, which training batch normalization does in the same passes (a Sequential
        model passes it for an Activation layer that follows)."""
        training = self._get_training_value(training)
        x = inputs
        if self.virtual_batch_size is not None:
            # Ghost batches as tf.keras forms them: (virtual_batch_size, groups, ...) in training,
            # so virtual batch j holds samples j, j + groups, j + 2 groups, ...
            original_shape = (-1,) + tuple(x.shape[1:])
            if training:
                self._check_virtual_batch_divides(x.shape[0])
            lead = (self.virtual_batch_size, -1) if training else (-1, 1)
            x = ops.reshape(x, lead + tuple(x.shape[1:]))
            if mask is not None:
                mask = np.reshape(unwrap(mask), lead + tuple(np.shape(unwrap(mask))[1:]))
        # In training the activation (if any) is applied by the training op, in its passes.
        activation = (_fused_activation,) if training and _fused_activation is not None else ()
        if self.fused:
            outputs = self._fused_batch_norm(x, mask, training, *activation)
        elif training:
            outputs = self._training_batch_norm(x, mask, *activation)
        else:
            outputs = batch_norm_inference(x, self.moving_mean, self.moving_variance, self.gamma,
                                           self.beta, self._reduction_axes(x.ndim), self.epsilon)
        if _fused_activation is not None and not activation:
            outputs = apply_activation(_fused_activation, outputs)
        if self.virtual_batch_size is not None:
            outputs = ops.reshape(outputs, original_shape)
        return outputs

    def _get_training_value(self, training):
        """tf.keras 2: None means the global learning phase; a frozen layer always infers."""
        if training is None:
            training = learning_phase()
        if isinstance(training, Tensor):
            training = bool(training.data)
        if not self.trainable:
            training = False
        return bool(training)

    def _check_virtual_batch_divides(self, batch_size):
        if batch_size % self.virtual_batch_size:
            raise ValueError("`virtual_batch_size` must be a positive integer that divides the "
                             "true batch size of the input tensor. "
                             f"Received: virtual_batch_size={self.virtual_batch_size} for a "
                             f"batch of size {batch_size}")

    def _reduction_axes(self, ndim):
        axes = [i for i in range(ndim) if i not in self.axis]
        if self.virtual_batch_size is not None:
            del axes[1]   # statistics are per virtual batch: keep the group axis
        return axes

    def _fused_batch_norm(self, x, mask, training, activation=None):
        """tf.keras' fused path: in training the moving variance is fed
        the unbiased (Bessel-corrected) batch variance, and the moving averages are updated as
        `(1 - f) * moving + f * batch` with `f = 1 - momentum`."""
        if mask is not None:
            warnings.warn("Masking is not supported with `fused=True`. You should either turn off "
                          "fusing (`fused=False`) or you should not pass a `mask` argument when "
                          "calling the layer. For the moment `mask` will be ignored for the "
                          "normalization.")
        # TF 2.21's fused_batch_norm takes epsilon as given (older TF raised it to 1.001e-5).
        epsilon = self.epsilon
        axes = self._reduction_axes(x.ndim)
        if not training:
            return batch_norm_inference(x, self.moving_mean, self.moving_variance, self.gamma,
                                        self.beta, axes, epsilon)
        outputs, moments = batch_norm_train(x, self.gamma, self.beta, axes, epsilon,
                                            activation=activation)
        count = moments.count
        bessel = count / max(count - 1, 1)
        dtype = self.moving_mean.dtype
        factor = np.asarray(1.0 - self.momentum, dtype)
        keep = np.asarray(1, dtype) - factor
        mean = moments.mean.reshape(self._param_shape)
        variance = moments.variance.reshape(self._param_shape) * np.asarray(bessel, dtype)
        self.moving_mean.assign(keep * self.moving_mean.data + factor * mean)
        self.moving_variance.assign(keep * self.moving_variance.data + factor * variance)
        return outputs

    def _training_batch_norm(self, x, mask, activation=None):
        """tf.keras' general path: batch moments (weighted under a mask), optional adjustment and
        batch renormalisation, moving averages fed the biased batch variance."""
        ndim = x.ndim
        axes = self._reduction_axes(ndim)
        scale = self._broadcast(self.gamma, ndim, axes)
        offset = self._broadcast(self.beta, ndim, axes)
        if self.adjustment is not None:
            adj_scale, adj_bias = self.adjustment(tuple(x.shape))
            scale, offset = _compose_transforms(adj_scale, adj_bias, scale, offset)
        weights = None
        if mask is not None:
            weights = np.expand_dims(np.asarray(unwrap(mask), x.dtype), -1)
        moments = batch_moments(x, axes, weights)
        if self.virtual_batch_size is not None:
            # The moving averages take the mean over virtual batches of their statistics.
            new_mean = np.mean(moments.mean, axis=1, keepdims=True)
            new_variance = np.mean(moments.variance, axis=1, keepdims=True)
        else:
            new_mean = moments.mean.reshape(self._param_shape)
            new_variance = moments.variance.reshape(self._param_shape)
        if self.renorm:
            r, d = self._renorm_correction(new_mean, new_variance)
            r, d = self._broadcast(r, ndim, axes), self._broadcast(d, ndim, axes)
            scale, offset = _compose_transforms(r, d, scale, offset)
        outputs, _ = batch_norm_train(x, scale, offset, axes, self.epsilon, moments,
                                      activation=activation)
        self._assign_moving_average(self.moving_mean, new_mean, self.momentum)
        if self.renorm:
            # Inference statistics go through the moving standard deviation (epsilon included).
            eps = np.asarray(self.epsilon, new_variance.dtype)
            self._assign_moving_average(self.moving_stddev, np.sqrt(new_variance + eps),
                                        self.momentum)
            stddev = self.moving_stddev.data
            self.moving_variance.assign(np.maximum(stddev * stddev - eps, 0))
        else:
            self._assign_moving_average(self.moving_variance, new_variance, self.momentum)
        return outputs

    def _broadcast(self, value, ndim, axes):
        """tf.keras' `_broadcast`: a 1-D parameter of a single non-last axis is reshaped to
        broadcast against the input."""
        if value is None or len(np.shape(unwrap(value))) == ndim or axes == list(range(ndim - 1)):
            return value
        shape = [1] * ndim
        shape[self.axis[0]] = np.shape(unwrap(value))[0]
        if isinstance(value, Tensor):
            return ops.reshape(value, shape)
        return np.reshape(value, shape)

    def _renorm_correction(self, mean, variance):
        """Batch renormalisation: r = sigma_B / sigma_renorm and d = (mu_B - mu_renorm) /
        sigma_renorm from the pre-update renorm statistics, clipped; then the renorm statistics
        move towards the batch with `renorm_momentum`. r and d are constants (no gradient)."""
        dtype = mean.dtype
        eps = np.asarray(self.epsilon, dtype)
        stddev = np.sqrt(variance + eps)
        renorm_stddev = np.maximum(self.renorm_stddev.data, np.sqrt(eps))
        r = stddev / renorm_stddev
        d = (mean - self.renorm_mean.data) / renorm_stddev
        clipping = self.renorm_clipping or {}
        rmin, rmax, dmax = (clipping.get(key) for key in ("rmin", "rmax", "dmax"))
        if rmin is not None:
            r = np.maximum(r, np.asarray(rmin, dtype))
        if rmax is not None:
            r = np.minimum(r, np.asarray(rmax, dtype))
        if dmax is not None:
            d = np.maximum(d, -np.asarray(dmax, dtype))
            d = np.minimum(d, np.asarray(dmax, dtype))
        self._assign_moving_average(self.renorm_mean, mean, self.renorm_momentum)
        self._assign_moving_average(self.renorm_stddev, stddev, self.renorm_momentum)
        return r, d

    @staticmethod
    def _assign_moving_average(variable, value, momentum):
        """tf.keras: `variable -= (variable - value) * (1 - momentum)`, outside any gradient.
        `tf.convert_to_tensor(1 - momentum)` makes a Python float a float32 tensor first, so a
        float64 layer decays by float32(0.01), not 0.01."""
        decay = 1.0 - momentum
        if isinstance(decay, float) and not isinstance(decay, np.floating):
            decay = np.float32(decay)
        decay = np.asarray(decay, variable.dtype)
        variable.assign_sub((variable.data - np.asarray(value, variable.dtype)) * decay)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def count_flops(self, input_shape, output_shape):
        """At inference the normalisation folds into one multiply-add per element."""
        return 2 * per_sample_size(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": _maybe(regularizers.serialize, self.beta_regularizer),
            "gamma_regularizer": _maybe(regularizers.serialize, self.gamma_regularizer),
            "beta_constraint": _maybe(constraints.serialize, self.beta_constraint),
            "gamma_constraint": _maybe(constraints.serialize, self.gamma_constraint),
        })
        # tf.keras adds these only when set, to stay loadable by other Keras versions.
        if self.renorm:
            config["renorm"] = True
            config["renorm_clipping"] = self.renorm_clipping
            config["renorm_momentum"] = self.renorm_momentum
        if self.virtual_batch_size is not None:
            config["virtual_batch_size"] = self.virtual_batch_size
        if self.adjustment is not None:
            logging.getLogger("minikeras").warning(
                "The `adjustment` function of this `BatchNormalization` layer cannot be "
                "serialized and has been omitted from the layer config. It will not be included "
                "when re-creating the layer from the saved config.")
        return config


def _compose_transforms(scale, offset, then_scale, then_offset):
    """(x * scale + offset) * then_scale + then_offset as one scale and offset (tf.keras)."""
    if then_scale is not None:
        scale = _multiply(scale, then_scale)
        offset = _multiply(offset, then_scale)
    if then_offset is not None:
        offset = _add(offset, then_offset)
    return scale, offset


def _multiply(a, b):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return ops.multiply(a, b)
    return np.multiply(a, b)


def _add(a, b):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return ops.add(a, b)
    return np.add(a, b)


def _check_axis_argument(axis):
    if isinstance(axis, (list, tuple)):
        if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
            return [int(a) for a in axis] if isinstance(axis, list) else tuple(int(a) for a in axis)
    elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return int(axis)
    raise TypeError("Expected an int or a list/tuple of ints for the argument 'axis', but "
                    f"received: {axis!r}")


def _maybe(serialize, value):
    return None if value is None else serialize(value)
