"""What the fixture recipes share. Each recipe writes files of tests/fixtures/ with the peer
(tf_keras 2.21 / Keras 3.15.1 in their own venv, never the project's): they run only by hand,
and the tests read the files they wrote, never the recipes."""
import math
import os
import random
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


class Drawer:
    """random.Random with the few draws the fuzz recipes' generators need (fuzz, fitfuzz,
    lmfuzz: their recorded cases depend on this exact sequence of draws)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def pick(self, options):
        return options[self.rng.randrange(len(options))]

    def flip(self, p=0.5):
        return self.rng.random() < p

    def int(self, low, high):
        return self.rng.randint(low, high)

    def ints(self, n, low, high):
        return [self.int(low, high) for _ in range(n)]

    def uniform(self, low, high):
        return round(self.rng.uniform(low, high), 4)

    def log_uniform(self, low, high):
        return float(f"{10 ** self.rng.uniform(math.log10(low), math.log10(high)):.3g}")
