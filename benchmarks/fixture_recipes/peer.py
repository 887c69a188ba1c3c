"""What the fixture recipes share. Each recipe writes files of tests/fixtures/ with the peer
(tf_keras 2.21 / Keras 3.15.1 in their own venv, never the project's): they run only by hand,
and the tests read the files they wrote, never the recipes."""
import os
import sys

_FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                         "tests", "fixtures")


def fixture_dir(name):
    """The folder of tests/fixtures/ a recipe writes into."""
    return os.path.normpath(os.path.join(_FIXTURES, name))


def require_peer():
    """Stop unless `--peer` was given: the recipe imports TensorFlow (the peer venv's)."""
    if "--peer" not in sys.argv:
        raise SystemExit(f"{sys.argv[0]} writes fixtures with tf_keras: run it with the peer "
                         "venv's python and --peer")
    sys.argv.remove("--peer")
