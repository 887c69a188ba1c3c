"""`ImageDataGenerator.flow` alone: thread CPU time per image of the cifar10 examples' flows
(batches of 32 of 32x32x3 float32 images), best of several epochs over 960 images.

    PYTHONPATH=. python benchmarks/bench_image_flow.py [--epochs 7]
    PYTHONPATH=.:benchmarks python benchmarks/bench_image_flow.py --commits main HEAD

With `--commits A B` the two commits' packages (`commit_packages.extract`) are timed
alternately in one process, epoch by epoch.
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

# The examples' settings: cifar10_cnn's and cifar10_resnet's generators.
SETTINGS = {
    "cifar10_cnn": dict(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True),
    "cifar10_resnet": dict(width_shift_range=0.1, height_shift_range=0.1,
                           fill_mode="nearest", horizontal_flip=True),
    "rotate_zoom": dict(rotation_range=15, zoom_range=0.1, width_shift_range=0.1,
                        horizontal_flip=True),
}


def flow_of(keras, settings, images, labels):
    generator = keras.preprocessing.image.ImageDataGenerator(**settings)
    generator.fit(images)
    return generator.flow(images, labels, batch_size=32, seed=0)


def epoch_seconds(flow):
    start = time.thread_time()
    for i in range(len(flow)):
        flow[i]
    return time.thread_time() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--commits", nargs=2, metavar=("A", "B"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (960, 32, 32, 3)).astype("float32") / 255
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 960)]
    with tempfile.TemporaryDirectory() as root:
        if args.commits:
            from commit_packages import extract
            sys.path.insert(0, root)
            modules = {ref: extract(ref, f"minikeras_{i}", root)
                       for i, ref in enumerate(args.commits)}
        else:
            import minikeras
            modules = {"tree": minikeras}
        print(f"load {os.getloadavg()[0]:.1f}; us per image, best of {args.epochs} epochs")
        for name, settings in SETTINGS.items():
            flows = {ref: flow_of(module, settings, images, labels)
                     for ref, module in modules.items()}
            best = dict.fromkeys(flows, float("inf"))
            for _ in range(args.epochs):
                for ref, flow in flows.items():
                    best[ref] = min(best[ref], epoch_seconds(flow))
            figures = ", ".join(f"{ref} {seconds / len(images) * 1e6:.1f}"
                                for ref, seconds in best.items())
            print(f"{name:16s} {figures}", flush=True)


if __name__ == "__main__":
    main()
