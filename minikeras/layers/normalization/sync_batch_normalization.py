"""SyncBatchNormalization: batch statistics over the global batch of a data-parallel run."""
import numpy as np

from ... import ops
from ...ops.collective import cross_replica_sum, replica_total
from .batch_normalization import BatchNormalization


class SyncBatchNormalization(BatchNormalization):
    """`BatchNormalization` whose training statistics are the mean and (biased) variance of
    the global batch, summed over every rank of a `minikeras.distribute` run, so N ranks with
    batch B normalise, learn and update their moving statistics exactly as one process with
    batch N x B does. In a single process it is a non-fused `BatchNormalization`.

    As in `tf.keras.layers.experimental.SyncBatchNormalization`, the kernel is never fused, so
    the moving variance is fed the biased batch variance.

    Example:
    >>> layer = SyncBatchNormalization()
    >>> y = layer(np.ones((4, 3), "float32"), training=True)
    >>> y.shape
    (4, 3)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        for unsupported in ("renorm", "virtual_batch_size", "adjustment"):
            if kwargs.get(unsupported):
                raise NotImplementedError(
                    f"SyncBatchNormalization does not support `{unsupported}`. "
                    f"Received: {unsupported}={kwargs[unsupported]}")
            kwargs.pop(unsupported, None)
        if kwargs.pop("fused", None):
            raise ValueError("`fused=True` is not supported when `synchronized=True`.")
        kwargs.pop("synchronized", None)
        super().__init__(axis=axis, momentum=momentum, epsilon=epsilon, center=center,
                         scale=scale, beta_initializer=beta_initializer,
                         gamma_initializer=gamma_initializer,
                         moving_mean_initializer=moving_mean_initializer,
                         moving_variance_initializer=moving_variance_initializer,
                         beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                         beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
                         synchronized=True, **kwargs)

    def _training_batch_norm(self, x, mask):
        if mask is not None:
            raise NotImplementedError("SyncBatchNormalization does not support a `mask`.")
        ndim = x.ndim
        axes = self._reduction_axes(ndim)
        # This rank's share of the global batch weighs the gradients of the summed statistics.
        local_batch = x.shape[0]
        share = local_batch / replica_total(local_batch)
        count = replica_total(int(np.prod([x.shape[a] for a in axes])))
        mean = ops.divide(cross_replica_sum(ops.sum(x, axes, keepdims=True), share), count)
        centred = ops.subtract(x, mean)
        variance = ops.divide(
            cross_replica_sum(ops.sum(ops.square(centred), axes, keepdims=True), share), count)
        outputs = ops.multiply(centred, ops.power(ops.add(variance, self.epsilon), -0.5))
        if self.gamma is not None:
            outputs = ops.multiply(outputs, self._broadcast(self.gamma, ndim, axes))
        if self.beta is not None:
            outputs = ops.add(outputs, self._broadcast(self.beta, ndim, axes))
        self._assign_moving_average(self.moving_mean, mean.data.reshape(self._param_shape),
                                    self.momentum)
        self._assign_moving_average(self.moving_variance,
                                    variance.data.reshape(self._param_shape), self.momentum)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.pop("synchronized", None)
        return config
