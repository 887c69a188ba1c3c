"""Small datasets shipped with the package (no network needed)."""
from . import digits  # noqa: F401
