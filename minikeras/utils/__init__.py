"""`keras.utils`."""
from .np_utils import to_categorical, to_ordinal, normalize  # noqa: F401
from ..models.data_utils import Sequence, pad_sequences  # noqa: F401
from .enqueuers import GeneratorEnqueuer, OrderedEnqueuer, SequenceEnqueuer  # noqa: F401
from ..callbacks.progbar import Progbar  # noqa: F401
from ..models.data_adapters import unpack as unpack_x_y_sample_weight  # noqa: F401
from ..models.data_adapters import pack_x_y_sample_weight  # noqa: F401
from ..core.random import set_random_seed  # noqa: F401
from ..core.registry import (  # noqa: F401
    register_keras_serializable, custom_object_scope, CustomObjectScope, get_custom_objects,
    get_registered_name, get_registered_object,
)
from ..core.serialization import serialize_keras_object, deserialize_keras_object  # noqa: F401
from .file_utils import get_file  # noqa: F401
from .image_utils import (  # noqa: F401
    array_to_img, img_to_array, load_img, save_img, smart_resize,
)
from .image_dataset import image_dataset_from_directory  # noqa: F401
from .timeseries_dataset import timeseries_dataset_from_array  # noqa: F401
from .text_dataset import text_dataset_from_directory  # noqa: F401
from .audio_dataset import audio_dataset_from_directory  # noqa: F401
from .dataset_utils import split_dataset  # noqa: F401
from .vis_utils import model_to_dot, plot_model  # noqa: F401
from .layer_utils import count_flops, get_source_inputs, warmstart_embedding_matrix  # noqa: F401,E501
from .io_utils import (  # noqa: F401
    disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled,
)
from .timed_threads import TimedThread  # noqa: F401
from . import data_utils, conv_utils, generic_utils, io_utils, legacy  # noqa: F401

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ("experimental", "legacy"))
