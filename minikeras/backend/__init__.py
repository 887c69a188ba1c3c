"""The engine (Tensor, Variable, GradientTape) and the Keras 2 backend functions (`K.*`)."""
from .config import (  # noqa: F401
    floatx, set_floatx, epsilon, set_epsilon, image_data_format, set_image_data_format,
    normalize_data_format,
)
from .tensor import (  # noqa: F401
    Tensor, Variable, GradientTape, convert_to_tensor, is_recording, recording_scope,
    stop_recording,
)
from .functions import *  # noqa: F401,F403
from .nn_functions import *  # noqa: F401,F403
from .nn_functions import experimental  # noqa: F401
from .functions import (  # noqa: F401  (names `import *` skips because they shadow builtins)
    sum, max, min, abs, pow, round, any, all, eval,
)
