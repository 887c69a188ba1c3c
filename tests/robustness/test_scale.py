"""Very deep models: building and loading cost O(layers), not a graph walk per added layer
(speed itself is measured in benchmarks/bench_deep_models.py, not asserted here)."""
import json

import numpy as np
import pytest

import minikeras as keras
from minikeras.models import functional
from hostile import quiet

L = keras.layers


@pytest.fixture
def graph_walks(monkeypatch):
    """Counts the full graph walks (`_map_graph_network`) made while the test runs."""
    calls = []
    original = functional._map_graph_network

    def counting(inputs, outputs):
        calls.append(len(inputs))
        return original(inputs, outputs)
    monkeypatch.setattr(functional, "_map_graph_network", counting)
    return calls


def deep(n):
    return keras.Sequential([keras.Input((4,))] + [L.Dense(4) for _ in range(n)])


@pytest.mark.parametrize("n", [10, 300])
def test_building_a_sequential_walks_the_graph_a_constant_number_of_times(graph_walks, n):
    model = deep(n)
    assert len(model.layers) == n and model.output_shape == (None, 4)
    assert len(graph_walks) <= 2


@pytest.mark.parametrize("fmt", ["m.keras", "m.h5", "json"])
def test_loading_a_deep_sequential_walks_the_graph_a_constant_number_of_times(
        tmp_path, graph_walks, fmt):
    model = deep(150)
    if fmt == "json":
        source = model.to_json()
    else:
        source = str(tmp_path / fmt)
        quiet(model.save, source)
    del graph_walks[:]
    loaded = keras.models.model_from_json(source) if fmt == "json" else \
        quiet(keras.models.load_model, source)
    assert len(loaded.layers) == 150
    assert len(graph_walks) <= 3
    x = np.ones((2, 4), "float32")
    if fmt != "json":
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_growing_sequential_stays_consistent():
    model = keras.Sequential([keras.Input((3,)), L.Dense(4, name="a")])
    model.add(L.Dense(5, name="b"))
    assert model.output_shape == (None, 5)
    model.add(L.Dense(2, name="c"))
    assert [layer.name for layer in model.layers] == ["a", "b", "c"]
    assert model.outputs[0].shape == (None, 2) and model.count_params() == 16 + 25 + 12
    with pytest.raises(ValueError, match="unique names"):
        model.add(L.Dense(2, name="b"))
    popped = model.pop()
    assert popped.name == "c" and model.output_shape == (None, 5)
    model.add(L.Dense(1, name="c"))
    assert model.predict(np.ones((2, 3), "float32"), verbose=0).shape == (2, 1)


def _keras_archive_listing(n, path):
    """A small `.keras` archive (a few KiB compressed) whose Sequential lists n layers."""
    layer = {"module": "keras.layers", "class_name": "Activation", "registered_name": None,
             "config": {"name": "a{}", "trainable": True, "dtype": "float32",
                        "activation": "linear"}}
    text = json.dumps(layer)
    layers = [{"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
               "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "input"}}]
    layers += [json.loads(text.replace("a{}", f"a{index}")) for index in range(n)]
    config = {"module": "keras", "class_name": "Sequential", "registered_name": None,
              "config": {"name": "deep", "trainable": True, "layers": layers}}
    model = keras.Sequential([keras.Input((4,))])
    quiet(model.save, str(path))
    from hostile import replace_members
    replace_members(path, {"config.json": json.dumps(config).encode()})


@pytest.mark.slow
def test_a_small_archive_listing_5000_layers_loads(tmp_path):
    path = tmp_path / "deep.keras"
    _keras_archive_listing(5000, path)
    assert path.stat().st_size < 64 * 1024
    loaded = keras.models.load_model(str(path))
    assert len(loaded.layers) == 5000
    np.testing.assert_array_equal(loaded.predict(np.ones((1, 4), "float32"), verbose=0),
                                  np.ones((1, 4), "float32"))


def test_a_small_archive_listing_many_layers_loads_with_few_graph_walks(tmp_path, graph_walks):
    path = tmp_path / "deep.keras"
    _keras_archive_listing(400, path)
    del graph_walks[:]
    assert len(keras.models.load_model(str(path)).layers) == 400
    assert len(graph_walks) <= 3
