"""The N-D locally-connected layer that LocallyConnected1D and LocallyConnected2D specialise:
a convolution whose weights are not shared between output positions."""
import numpy as np

from ... import activations, constraints, initializers, ops, regularizers
from ...core.config import normalize_data_format
from ...engine.argument_checks import integer
from ...engine.base_layer import Layer
from ...engine.input_spec import InputSpec
from ...ops.local_conv import gather_masked, output_length, unshared_matmul, window_indices
from .. import conv_utils


def _serialize_or_none(module, value):
    return None if value is None else module.serialize(value)


class LocallyConnected(Layer):
    """`rank`-D unshared convolution with tf.keras' three weight layouts (`implementation`):

    1. kernel `(output_positions, prod(kernel_size) * channels_in, filters)`, the patch
       features ordered as the input's axes (window then channels for channels_last);
    2. the dense kernel of a fully-connected layer between input and output images,
       `(*input_spatial, channels_in, *output_spatial, filters)` (channels first:
       `(channels_in, *input_spatial, filters, *output_spatial)`), masked to the windows;
    3. the 1-D list of the connected entries of that matrix, sorted by
       (flat output index, flat input index).

    The bias is `(*output_spatial, filters)` for both data formats. All three run the same
    computation: the kernel is turned into per-position matrices and multiplied with the
    gathered input windows.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 implementation=1, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        owner = type(self).__name__
        if isinstance(filters, float):      # as the convolutions: 2.5 -> 2
            filters = int(filters)
        self.filters = integer(filters, "filters", owner)
        if self.filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly positive "
                             f"value. Received filters={filters}.")
        self.kernel_size = conv_utils.normalize_tuple(kernel_size, rank, "kernel_size")
        # tf.keras accepts a zero stride here and then divides by it when building.
        self.strides = conv_utils.normalize_tuple(strides, rank, "strides")
        self.padding = conv_utils.normalize_padding(padding)
        if self.padding != "valid" and implementation == 1:
            raise ValueError(f"Invalid border mode for {owner} (only \"valid\" is supported if "
                             f"implementation is 1): {padding}")
        self.data_format = normalize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.implementation = implementation
        self.input_spec = InputSpec(ndim=rank + 2)

    # --- shapes ---------------------------------------------------------------------------
    def _split_shape(self, input_shape):
        """(spatial dims, channels) of an input shape in this layer's data format."""
        input_shape = tuple(input_shape)
        if self.data_format == "channels_first":
            return tuple(input_shape[2:]), input_shape[1]
        return tuple(input_shape[1:-1]), input_shape[-1]

    def _output_spatial(self, spatial):
        return tuple(output_length(n, k, s, self.padding)
                     for n, k, s in zip(spatial, self.kernel_size, self.strides))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected ndim={self.rank + 2}, found ndim={len(input_shape)}. "
                             f"Full shape received: {input_shape}")
        spatial, _ = self._split_shape(input_shape)
        out = self._output_spatial(spatial)
        if self.data_format == "channels_first":
            return (input_shape[0], self.filters) + out
        return (input_shape[0],) + out + (self.filters,)

    def _check_buildable(self, input_shape, spatial, channels):
        if self.padding not in ("valid", "same"):
            raise NotImplementedError(f"Padding type {self.padding} not supported. "
                                      "Only \"valid\" and \"same\" are implemented.")
        if channels is None:
            axis = 1 if self.data_format == "channels_first" else self.rank + 1
            raise ValueError(f"Axis {axis} of input should be fully-defined. Found shape: "
                             f"{input_shape}")
        if any(n is None for n in spatial):
            raise ValueError(f"The spatial dimensions of the inputs to  a {type(self).__name__} "
                             "layer should be fully-defined, but layer received the inputs "
                             f"shape {input_shape}")
        if any(n <= 0 for n in self._output_spatial(spatial)):
            raise ValueError("One of the dimensions in the output is <= 0 due to downsampling "
                             f"in {self.name}. Consider increasing the input size. Received "
                             f"input shape {input_shape} which would produce output shape "
                             "with a zero or negative value in a dimension.")

    # --- weights --------------------------------------------------------------------------
    def build(self, input_shape):
        input_shape = tuple(input_shape)
        spatial, channels = self._split_shape(input_shape)
        self._check_buildable(input_shape, spatial, channels)
        out_spatial, index, valid = window_indices(spatial, self.kernel_size, self.strides,
                                                   self.padding)
        self._input_spatial, self._output_shape_spatial = spatial, out_spatial
        self._channels_in = channels
        self._window_index, self._window_valid = index, valid
        positions, window = index.shape
        if self.implementation == 1:
            kernel_shape = (positions, window * channels, self.filters)
        elif self.implementation == 2:
            kernel_shape = self._dense_kernel_shape(spatial, channels, out_spatial)
            self._kernel_gather = self._dense_kernel_gather()
        elif self.implementation == 3:
            self._kernel_gather, size = self._sparse_kernel_gather()
            kernel_shape = (size,)
        else:
            raise ValueError(f"Unrecognized implementation mode: {self.implementation}.")
        self._set_tf_keras_attributes(out_spatial, kernel_shape)
        self.kernel = self.add_weight("kernel", shape=kernel_shape,
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, trainable=True)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", shape=out_spatial + (self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, trainable=True)
        channel_axis = 1 if self.data_format == "channels_first" else -1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis: channels})
        self.built = True

    def _set_tf_keras_attributes(self, out_spatial, kernel_shape):
        """The attributes tf.keras' layers expose after build: `output_length` (1D),
        `output_row`/`output_col` (2D) and `kernel_shape` (for mode 3 the dense shape of the
        sparse matrix, `(output_positions * filters, input_positions * channels_in)`)."""
        if self.rank == 1:
            self.output_length = out_spatial[0]
        elif self.rank == 2:
            self.output_row, self.output_col = out_spatial
        if self.implementation == 3:
            kernel_shape = (int(np.prod(out_spatial)) * self.filters,
                            int(np.prod(self._input_spatial)) * self._channels_in)
        self.kernel_shape = tuple(kernel_shape)

    def _dense_kernel_shape(self, spatial, channels, out_spatial):
        if self.data_format == "channels_first":
            return (channels,) + spatial + (self.filters,) + out_spatial
        return spatial + (channels,) + out_spatial + (self.filters,)

    def _entry_coordinates(self):
        """Broadcastable (position, input position, channel in, filter) grids over the
        per-position kernel `(positions, window, channels_in, filters)`, with its validity."""
        positions, window = self._window_index.shape
        position = np.arange(positions)[:, None, None, None]
        source = self._window_index[:, :, None, None]
        channel = np.arange(self._channels_in)[None, None, :, None]
        filters = np.arange(self.filters)[None, None, None, :]
        shape = (positions, window, self._channels_in, self.filters)
        valid = np.broadcast_to(self._window_valid[:, :, None, None], shape)
        return position, source, channel, filters, valid

    def _flat_gather(self, flat_index, valid):
        positions, window = self._window_index.shape
        shape = (positions, window * self._channels_in, self.filters)
        flat_index = np.where(valid, flat_index, 0).reshape(shape)
        return flat_index, np.ascontiguousarray(valid).reshape(shape)

    def _dense_kernel_gather(self):
        """Where each per-position kernel entry sits in the flattened mode-2 kernel."""
        position, source, channel, filters, valid = self._entry_coordinates()
        inputs, outputs = int(np.prod(self._input_spatial)), self._window_index.shape[0]
        if self.data_format == "channels_first":
            flat = ((channel * inputs + source) * self.filters + filters) * outputs + position
        else:
            flat = ((source * self._channels_in + channel) * outputs + position) \
                * self.filters + filters
        return self._flat_gather(flat, valid)

    def _sparse_pairs(self):
        """(flat output index, flat input index) of every per-position kernel entry, as in
        tf.keras' `conv_utils.conv_kernel_idxs`, with its validity."""
        position, source, channel, filters, valid = self._entry_coordinates()
        inputs, outputs = int(np.prod(self._input_spatial)), self._window_index.shape[0]
        if self.data_format == "channels_first":
            return filters * outputs + position, channel * inputs + source, valid
        return position * self.filters + filters, source * self._channels_in + channel, valid

    def _sparse_kernel_gather(self):
        """Where each per-position kernel entry sits in the mode-3 kernel (the connected
        pairs in sorted order); also returns the number of pairs."""
        out_index, in_index, valid = self._sparse_pairs()
        key = out_index * (int(np.prod(self._input_spatial)) * self._channels_in) + in_index
        sorted_keys = np.sort(key[valid])
        rank = np.searchsorted(sorted_keys, np.where(valid, key, sorted_keys[0]))
        return self._flat_gather(rank, valid), sorted_keys.size

    @property
    def kernel_idxs(self):
        """tf.keras' sorted `(output_index, input_index)` pairs of the mode-3 kernel."""
        out_index, in_index, valid = self._sparse_pairs()
        pairs = np.stack([np.broadcast_to(out_index, valid.shape)[valid],
                          np.broadcast_to(in_index, valid.shape)[valid]], axis=1)
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        return [tuple(int(v) for v in pair) for pair in pairs]

    @property
    def kernel_mask(self):
        """tf.keras' boolean connectivity mask of the mode-2 kernel, broadcastable to it:
        `(*input_spatial, 1, *output_spatial, 1)` (channels first:
        `(1, *input_spatial, 1, *output_spatial)`)."""
        positions, window = self._window_index.shape
        mask = np.zeros((int(np.prod(self._input_spatial)), positions), bool)
        rows = np.broadcast_to(np.arange(positions)[:, None], (positions, window))
        mask[self._window_index[self._window_valid], rows[self._window_valid]] = True
        if self.data_format == "channels_first":
            shape = (1,) + self._input_spatial + (1,) + self._output_shape_spatial
        else:
            shape = self._input_spatial + (1,) + self._output_shape_spatial + (1,)
        return mask.reshape(shape)

    # --- forward --------------------------------------------------------------------------
    def _per_position_kernel(self):
        """The kernel as `(positions, window * channels_in, filters)`, window-major."""
        if self.implementation != 1:
            return gather_masked(self.kernel, *self._kernel_gather)
        if self.data_format == "channels_last":
            return self.kernel
        positions, window = self._window_index.shape
        # channels_first patches are ordered (channel, window): reorder to (window, channel)
        kernel = ops.reshape(self.kernel, (positions, self._channels_in, window, self.filters))
        kernel = ops.transpose(kernel, (0, 2, 1, 3))
        return ops.reshape(kernel, (positions, window * self._channels_in, self.filters))

    def call(self, inputs):
        batch = inputs.shape[0]
        spatial, _ = self._split_shape(inputs.shape)
        if spatial != self._input_spatial:
            # the weights exist for one input size only (tf.keras fails in a reshape)
            raise ValueError(f"Layer \"{self.name}\" was built for inputs with spatial shape "
                             f"{self._input_spatial}; received inputs of shape "
                             f"{tuple(inputs.shape)}.")
        if self.data_format == "channels_first":
            inputs = ops.transpose(inputs, (0,) + tuple(range(2, self.rank + 2)) + (1,))
        flat = ops.reshape(inputs, (batch, int(np.prod(spatial)), self._channels_in))
        outputs = unshared_matmul(flat, self._per_position_kernel(), self._window_index,
                                  self._window_valid)             # (batch, positions, filters)
        spatial = self._output_shape_spatial
        if self.data_format == "channels_first":
            outputs = ops.reshape(ops.transpose(outputs, (0, 2, 1)),
                                  (batch, self.filters) + spatial)
            if self.use_bias:
                # tf.keras' bias_add *reshapes* the (*spatial, filters) bias to
                # (filters, *spatial) here (no transpose); kept for identical numbers.
                outputs = ops.add(outputs, ops.reshape(self.bias, (self.filters,) + spatial))
        else:
            outputs = ops.reshape(outputs, (batch,) + spatial + (self.filters,))
            if self.use_bias:
                outputs = ops.add(outputs, self.bias)
        return self.activation(outputs)

    def count_flops(self, input_shape, output_shape):
        """2 x the multiply-adds of the connected entries: for each output position, its
        window taps inside the input x input channels x filters (Conv's count for "valid")."""
        spatial, channels = self._split_shape(input_shape)
        _, _, valid = window_indices(spatial, self.kernel_size, self.strides, self.padding)
        return 2 * int(valid.sum()) * channels * self.filters

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _serialize_or_none(regularizers, self.kernel_regularizer),
            "bias_regularizer": _serialize_or_none(regularizers, self.bias_regularizer),
            "activity_regularizer": _serialize_or_none(regularizers,
                                                       self.activity_regularizer),
            "kernel_constraint": _serialize_or_none(constraints, self.kernel_constraint),
            "bias_constraint": _serialize_or_none(constraints, self.bias_constraint),
            "implementation": self.implementation,
        })
        return config
