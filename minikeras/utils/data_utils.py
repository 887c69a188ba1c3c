"""`keras.utils.data_utils`, the tf.keras 2 module path scripts import from
(`from keras.utils.data_utils import get_file`)."""
from ..models.data_utils import Sequence, pad_sequences  # noqa: F401
from ..callbacks.progbar import Progbar  # noqa: F401
from .enqueuers import GeneratorEnqueuer, OrderedEnqueuer, SequenceEnqueuer  # noqa: F401
from .file_utils import get_file, validate_file, hash_file  # noqa: F401
from .file_utils import extract_archive as _extract_archive  # noqa: F401
