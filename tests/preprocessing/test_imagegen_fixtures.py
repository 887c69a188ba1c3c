"""ImageDataGenerator against tf.keras 2.21's numbers (fixtures/imagegen, see PROVENANCE.md)."""
import json
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from conftest import fixture_path
from minikeras.preprocessing.image import ImageDataGenerator


def load(name):
    with open(fixture_path("imagegen", name + ".json")) as handle:
        cases = json.load(handle)
    arrays_path = fixture_path("imagegen", name + ".npz")
    arrays = dict(np.load(arrays_path)) if os.path.exists(arrays_path) else {}
    return cases, arrays


def quiet_generator(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ImageDataGenerator(**kwargs)


TRANSFORMS, TRANSFORM_ARRAYS = load("transforms")
STANDARDIZE, STANDARDIZE_ARRAYS = load("standardize")
RANDOM, _ = load("random_transform")
FLOW, FLOW_ARRAYS = load("flow")
DIRECTORY, DIRECTORY_ARRAYS = load("directory")


@pytest.mark.parametrize("case", TRANSFORMS, ids=[c["name"] for c in TRANSFORMS])
def test_apply_transform_matches_tf_keras(case):
    gen = ImageDataGenerator(**case["generator"])
    image = TRANSFORM_ARRAYS["input/" + case["input"]].copy()
    out = gen.apply_transform(image, case["params"])
    expected = TRANSFORM_ARRAYS[case["name"] + "/out"]
    assert out.dtype == np.dtype(case["out_dtype"])
    assert out.shape == tuple(case["out_shape"])
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("case", STANDARDIZE, ids=[c["name"] for c in STANDARDIZE])
def test_fit_and_standardize_match_tf_keras(case):
    arrays = STANDARDIZE_ARRAYS
    gen = quiet_generator(**case["generator"])
    flags = {name: getattr(gen, name) for name in case["effective_flags"]}
    assert flags == case["effective_flags"]
    if case["fit"] is not None:
        gen.fit(arrays[case["x_fit"]], **case["fit"])
    for attribute, spec in case["fitted"].items():
        fitted = getattr(gen, attribute)
        assert fitted.shape == tuple(spec["shape"]) and fitted.dtype == np.dtype(spec["dtype"])
        np.testing.assert_allclose(fitted, arrays[f"{case['name']}/{attribute}"], atol=1e-5)
    x_test = arrays[case["x_test"]].copy()
    out = gen.standardize(x_test)
    assert (out is x_test) == case["standardize_in_place"]
    assert out.dtype == np.dtype(case["out_dtype"])
    np.testing.assert_allclose(out, arrays[case["name"] + "/out"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("case", RANDOM, ids=[c["name"] for c in RANDOM])
def test_get_random_transform_uses_the_same_draws(case):
    gen = ImageDataGenerator(**case["generator"])
    for draw in case["draws"]:
        params = gen.get_random_transform(tuple(case["img_shape"]), seed=draw["seed"])
        following = np.random.random()   # shows how many draws the call consumed
        assert following == draw["next_random"]
        assert set(params) == set(draw["params"])
        for key, expected in draw["params"].items():
            if expected is None:
                assert params[key] is None, key
            else:
                assert params[key] == pytest.approx(expected, abs=1e-12), key
            expected_type = draw["types"][key]
            assert type(params[key]).__name__ == expected_type, key


@pytest.mark.parametrize("case", FLOW, ids=[c["name"] for c in FLOW])
def test_flow_batches_of_two_epochs_equal_tf_keras(case):
    arrays, spec = FLOW_ARRAYS, case["flow"]
    gen = ImageDataGenerator(**case["generator"])
    iterator = gen.flow(arrays[spec["x"]], arrays[spec["y"]], batch_size=spec["batch_size"],
                        shuffle=spec["shuffle"], seed=spec["seed"])
    assert len(iterator) == case["len"]
    for b in range(case["n_batches"]):
        batch = next(iterator)
        assert len(batch) == case["structure"]
        for part, dtype in enumerate(case["dtypes"]):
            expected = arrays[f"{case['name']}/batch{b}/{part}"]
            assert batch[part].dtype == np.dtype(dtype)
            np.testing.assert_allclose(batch[part], expected, rtol=0, atol=1e-5)


def write_directory_tree(root):
    for entry in DIRECTORY["files"]:
        path = os.path.join(root, entry["path"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Image.fromarray(DIRECTORY_ARRAYS[entry["array"]], entry["mode"]).save(path, format="PNG")
    for entry in DIRECTORY["extra_files"]:
        with open(os.path.join(root, entry["path"]), "w") as handle:
            handle.write(entry["text"])


@pytest.mark.parametrize("case", DIRECTORY["cases"], ids=[c["name"] for c in DIRECTORY["cases"]])
def test_flow_from_directory_matches_tf_keras(case, tmp_path, capsys):
    write_directory_tree(str(tmp_path))
    gen = ImageDataGenerator(**case["generator"])
    iterator = gen.flow_from_directory(str(tmp_path), **case["flow_from_directory"])
    assert capsys.readouterr().out == case["printed"]
    assert iterator.class_indices == case["class_indices"]
    assert iterator.filenames == case["filenames"]
    assert iterator.classes.tolist() == case["classes"]
    assert iterator.samples == case["samples"] and len(iterator) == case["len"]
    assert iterator.image_shape == tuple(case["image_shape"])
    for b in range(case["n_batches"]):
        batch = next(iterator)
        assert len(batch) == case["n_parts"]
        for part, dtype in enumerate(case["dtypes"]):
            expected = DIRECTORY_ARRAYS[f"{case['name']}/batch{b}/{part}"]
            assert batch[part].dtype == np.dtype(dtype)
            np.testing.assert_allclose(batch[part], expected, rtol=0, atol=1e-5)
