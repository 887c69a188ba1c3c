"""`keras.preprocessing.image` (Keras 2): `ImageDataGenerator`, its iterators, the
single-image transforms and the image file helpers. Needs SciPy and Pillow
(`pip install minikeras[image]`) for the transforms and files."""
from ...utils.image_utils import (  # noqa: F401
    array_to_img, img_to_array, load_img, save_img, smart_resize,
)
from .generator import ImageDataGenerator  # noqa: F401
from .dataframe_iterator import DataFrameIterator  # noqa: F401
from .iterators import DirectoryIterator, Iterator, NumpyArrayIterator  # noqa: F401
from .transforms import (  # noqa: F401
    apply_affine_transform, apply_brightness_shift, apply_channel_shift, flip_axis,
    random_brightness, random_channel_shift, random_rotation, random_shear, random_shift,
    random_zoom, transform_matrix_offset_center,
)

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ...core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ())
