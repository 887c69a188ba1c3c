"""Corruption fuzz of every file format: truncated files, bit flips, overwritten bytes and
foreign HDF5/zip files either load or end in the loader's own error (a ValueError raised by
minikeras) - never a crash, a leaked library error or a hang. The loads run in one subprocess
per format under a timeout. A fixed sample by default; `--slow=all` runs many more trials."""
import io
import json
import os
import subprocess
import sys
import warnings
import zipfile

import h5py
import numpy as np
import pytest

import minikeras as keras

L = keras.layers
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FORMATS = {"w.h5": "weights", "w.weights.h5": "weights", "m.h5": "model", "m.keras": "model"}
TIMEOUT = 240


def source_model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([L.Dense(4, input_shape=(3,)), L.BatchNormalization(), L.Dense(2)])
    model.compile(keras.optimizers.Adam(), "mse")
    model.fit(np.ones((8, 3), "float32"), np.zeros((8, 2), "float32"), verbose=0)
    return model


def write_original(directory, name):
    path = os.path.join(directory, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if FORMATS[name] == "model":
            source_model().save(path)
        else:
            source_model().save_weights(path)
    with open(path, "rb") as f:
        return f.read()


def mutations(data, rng, trials):
    """(label, bytes) pairs: truncations, single and multiple bit flips, overwritten runs."""
    size = len(data)
    for cut in sorted({int(c) for c in rng.integers(0, size, trials // 4 + 2)} | {0, 8, size - 1}):
        yield f"truncated at {cut}", data[:cut]
    for trial in range(trials):
        mutated = bytearray(data)
        for _ in range(1 + trial % 4):
            position = int(rng.integers(0, size))
            mutated[position] ^= 1 << int(rng.integers(0, 8))
        yield f"bit flips #{trial}", bytes(mutated)
    for trial in range(trials // 4 + 1):
        mutated = bytearray(data)
        start = int(rng.integers(0, size - 16))
        mutated[start:start + 16] = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
        yield f"overwritten run at {start}", bytes(mutated)


def foreign_files(rng):
    """Valid HDF5 and zip files that are not Keras files."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f["data"] = rng.standard_normal((4, 4))
        f.create_group("layers").attrs["name"] = "x"
        f.attrs["layer_names"] = np.array([1, 2, 3])
    yield "foreign hdf5", buffer.getvalue()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        f.create_group("dense").attrs["weight_names"] = [b"dense/kernel:0"]
        f["dense/dense/kernel:0"] = np.array([b"not", b"numbers"])
    yield "hdf5 with string weights", buffer.getvalue()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    yield "foreign zip", buffer.getvalue()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps({"class_name": "Sequential", "config": 5}))
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + bytes(200))
    yield "zip with garbage members", buffer.getvalue()
    yield "empty", b""
    yield "random bytes", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()


def run_cases(directory, cases):
    job = os.path.join(directory, "job.json")
    progress = os.path.join(directory, "progress.txt")
    results = os.path.join(directory, "results.jsonl")
    with open(job, "w") as f:
        json.dump(cases, f)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        subprocess.run([sys.executable, os.path.join(HERE, "fuzz_worker.py"), job, progress,
                        results], check=True, timeout=TIMEOUT, env=env, capture_output=True)
    except subprocess.TimeoutExpired:
        with open(progress) as f:
            pytest.fail(f"loading hung on {f.read()}")
    except subprocess.CalledProcessError as error:
        pytest.fail(f"the loader crashed the process: {error.stderr.decode()[-2000:]}")
    with open(results) as f:
        return [json.loads(line) for line in f]


def fuzz(tmp_path, name, trials, seed):
    rng = np.random.default_rng(seed)
    original = write_original(str(tmp_path), name)
    cases = []
    generated = list(mutations(original, rng, trials))
    if name in ("m.keras", "w.h5"):
        generated += list(foreign_files(rng))
    for index, (label, data) in enumerate(generated):
        path = os.path.join(str(tmp_path), f"case{index}_{name}")
        with open(path, "wb") as f:
            f.write(data)
        cases.append({"path": path, "kind": FORMATS[name], "label": label})
    results = run_cases(str(tmp_path), cases)
    assert len(results) == len(cases)
    bad = [r for r in results
           if r["outcome"] == "error" and not (r["value_error"] and r["deliberate"])]
    assert not bad, "\n".join(f"{r['label']}: {r['type']}: {r['message']}" for r in bad)
    refused = [r for r in results if r["outcome"] == "error"]
    assert refused, "no corrupted file was refused: the fuzz did not reach the loader"


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_corrupted_files_end_in_the_loaders_error(tmp_path, name):
    fuzz(tmp_path, name, trials=12, seed=17)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_corrupted_files_end_in_the_loaders_error_many_trials(tmp_path, name):
    for seed in range(4):
        (tmp_path / str(seed)).mkdir()
        fuzz(tmp_path / str(seed), name, trials=120, seed=100 + seed)


def region_mutations(data, rng, trials):
    """Damage aimed at the `layer_names` attribute and the global heap holding its strings
    (where a damaged heap once made HDF5 loop forever)."""
    regions = [(max(data.find(b"layer_names") - 64, 0), data.find(b"layer_names") + 160)]
    heap = data.find(b"GCOL\x01\x00\x00\x00")
    if heap >= 0:
        regions.append((heap, heap + 300))
    for trial in range(trials):
        mutated = bytearray(data)
        low, high = regions[trial % len(regions)]
        for _ in range(1 + trial % 3):
            position = int(rng.integers(low, min(high, len(mutated))))
            if trial % 5 == 4:
                mutated[position] = int(rng.integers(0, 256))
            else:
                mutated[position] ^= 1 << int(rng.integers(0, 8))
        yield f"attribute/heap damage #{trial}", bytes(mutated)


def fuzz_attribute_regions(tmp_path, trials, seed):
    original = write_original(str(tmp_path), "w.h5")
    cases = []
    for index, (label, data) in enumerate(region_mutations(original, np.random.default_rng(seed),
                                                           trials)):
        path = os.path.join(str(tmp_path), f"case{index}_w.h5")
        with open(path, "wb") as f:
            f.write(data)
        cases.append({"path": path, "kind": "weights", "label": label})
    results = run_cases(str(tmp_path), cases)
    bad = [r for r in results
           if r["outcome"] == "error" and not (r["value_error"] and r["deliberate"])]
    assert not bad, "\n".join(f"{r['label']}: {r['type']}: {r['message']}" for r in bad)


def test_damaged_layer_names_and_global_heap_never_hang(tmp_path):
    fuzz_attribute_regions(tmp_path, trials=40, seed=1)


@pytest.mark.slow
def test_damaged_layer_names_and_global_heap_never_hang_many_trials(tmp_path):
    fuzz_attribute_regions(tmp_path, trials=600, seed=2)
