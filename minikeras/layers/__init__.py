"""Keras layers. Each family lives in its own subpackage, one layer per file."""
from ..engine.base_layer import Layer  # noqa: F401
from ..engine.input_spec import InputSpec  # noqa: F401
from .core.input_layer import Input, InputLayer  # noqa: F401
from .core.dense import Dense  # noqa: F401
from .core.activation import Activation  # noqa: F401
from .core.lambda_layer import Lambda  # noqa: F401
from .regularization.dropout import Dropout  # noqa: F401
from .reshaping.flatten import Flatten  # noqa: F401

# Convolution, pooling, cropping/padding/upsampling (issue 3)
# (conv-section-end)

# Normalization (issue 4)
from .normalization.batch_normalization import BatchNormalization  # noqa: F401
# (bn-section-end)

# Merging, reshaping, masking, activation layers (issue 5)
# (merge-section-end)

# Embedding, normalization, noise, spatial dropout, preprocessing layers (issue 7)
# (layers7-section-end)
