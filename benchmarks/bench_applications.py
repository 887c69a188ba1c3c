"""Building the applications and running them: construction time (layers + weight
initialisation) of the largest ones against the time NumPy needs to draw the same number of
float32 uniforms (the floor any build must pay), and MobileNet/ResNet50 inference throughput.

CPU seconds (`time.process_time`) are reported next to wall seconds: on a machine shared by
many processes, multi-threaded BLAS can burn CPU while waiting (try OPENBLAS_NUM_THREADS=1).

    python benchmarks/bench_applications.py [--models VGG16 EfficientNetB7 ...] [--batch 32]
"""
import argparse
import time

import numpy as np

import minikeras as keras

DEFAULT_MODELS = ["VGG16", "ResNet152", "InceptionResNetV2", "NASNetLarge", "EfficientNetB7"]


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def bench_build(name):
    keras.backend.clear_session()
    model, wall, cpu = timed(lambda: getattr(keras.applications, name)(weights=None))
    params = model.count_params()
    rng = np.random.default_rng(0)
    _, floor_wall, _ = timed(lambda: rng.random(params, dtype=np.float32))
    print(f"{name:<20} {params / 1e6:7.1f} M params  build {wall:6.2f} s wall {cpu:6.2f} s cpu"
          f"   (drawing as many float32 uniforms: {floor_wall:5.2f} s)")


def bench_predict(name, batch, **kwargs):
    keras.backend.clear_session()
    model = getattr(keras.applications, name)(weights=None, **kwargs)
    x = np.random.default_rng(0).uniform(-1, 1, (batch,) + model.input_shape[1:])
    x = x.astype(np.float32)
    model.predict(x[:2], verbose=0)
    _, wall, cpu = timed(lambda: model.predict(x, batch_size=batch, verbose=0))
    print(f"{name:<20} predict {batch} images {model.input_shape[1:]}: {batch / wall:7.1f} "
          f"images/s ({cpu:5.2f} s cpu)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    for name in args.models:
        bench_build(name)
    bench_predict("MobileNet", args.batch, alpha=0.25, input_shape=(128, 128, 3))
    bench_predict("ResNet50", args.batch)


if __name__ == "__main__":
    main()
