"""`keras.backend` (`K`): a facade re-exporting Tensor, Variable, GradientTape (core/) and the
Keras 2 backend functions (`K.*`, backend/functions.py, built on ops/)."""
from ..core.config import (  # noqa: F401
    floatx, set_floatx, epsilon, set_epsilon, image_data_format, set_image_data_format,
    normalize_data_format,
)
from ..core.tensor import (  # noqa: F401
    Tensor, Variable, GradientTape, is_recording, recording_scope, stop_recording,
)
from ..ops.math import convert_to_tensor  # noqa: F401
from .functions import *  # noqa: F401,F403
from .nn_functions import *  # noqa: F401,F403
from .nn_functions import experimental  # noqa: F401
from . import symbolic_functions  # noqa: F401  (K.* and losses on KerasTensors build layers)
from .functions import (  # noqa: F401  (names `import *` skips because they shadow builtins)
    sum, max, min, abs, pow, round, any, all, eval,
)

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ("experimental",))
