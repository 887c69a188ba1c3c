"""Run under `mpirun -n 2`: data-parallel training scenarios whose results tests/distribute
compares with single-process runs. Usage: mpi_scenarios.py SCENARIO OUTPUT_DIR."""
import os
import sys

import numpy as np

import minikeras as keras
import minikeras.distribute as dist

PER_RANK_BATCH = 16
SAMPLES = 101          # the last global batch (5 samples) splits 3 / 2: unequal shares
EPOCHS = 3


def make_data(seed=7):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(SAMPLES, 6, 6, 2)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 3, SAMPLES), 3)
    return x, y


def build_model(kind, optimizer_name):
    """The same construction the single-process reference uses (tests/distribute)."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(3)
    normalization = {"plain": [], "bn": [keras.layers.BatchNormalization()],
                     "syncbn": [dist.SyncBatchNormalization()]}[kind]
    model = keras.Sequential(
        [keras.layers.Conv2D(4, 3, use_bias=not normalization, input_shape=(6, 6, 2))] +
        normalization +
        [keras.layers.Activation("relu"), keras.layers.Flatten(),
         keras.layers.Dense(3, activation="softmax")])
    optimizer = {"sgd": lambda: keras.optimizers.SGD(0.1, momentum=0.9),
                 "adam": lambda: keras.optimizers.Adam(0.01)}[optimizer_name]()
    return model, optimizer


def train(kind, optimizer_name, output_dir):
    model, optimizer = build_model(kind, optimizer_name)
    model.compile(optimizer=dist.DistributedOptimizer(optimizer),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = make_data()
    if dist.rank() != 0:          # a different start: the broadcast must fix it
        model.set_weights([w * 0 + 0.5 for w in model.get_weights()])
    history = model.fit(x, y, batch_size=PER_RANK_BATCH, epochs=EPOCHS, shuffle=True,
                        verbose=0, callbacks=[dist.BroadcastGlobalVariablesCallback(0),
                                              dist.MetricAverageCallback()])
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays["loss"] = np.asarray(history.history["loss"])
    np.savez(os.path.join(output_dir, f"{kind}_{optimizer_name}_rank{dist.rank()}.npz"),
             **arrays)


def equivalence(output_dir):
    for kind, optimizer_name in [("plain", "sgd"), ("plain", "adam"), ("syncbn", "adam"),
                                 ("syncbn", "sgd"), ("bn", "sgd")]:
        train(kind, optimizer_name, output_dir)


def chief_only_files(output_dir):
    model, optimizer = build_model("plain", "sgd")
    model.compile(optimizer=dist.DistributedOptimizer(optimizer), loss="mse")
    x, y = make_data()
    rank = dist.rank()
    model.fit(x, y, batch_size=PER_RANK_BATCH, epochs=2, verbose=1, callbacks=[
        dist.BroadcastGlobalVariablesCallback(0),
        keras.callbacks.ModelCheckpoint(os.path.join(output_dir, f"ckpt_rank{rank}.h5")),
        keras.callbacks.CSVLogger(os.path.join(output_dir, f"log_rank{rank}.csv"))])


def rank_fails(output_dir):
    class FailOnRankOne(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if dist.rank() == 1 and batch == 2:
                raise RuntimeError("deliberate failure on rank 1")
    model, optimizer = build_model("plain", "sgd")
    model.compile(optimizer=dist.DistributedOptimizer(optimizer), loss="mse")
    x, y = make_data()
    model.fit(x, y, batch_size=4, epochs=50, verbose=0,
              callbacks=[dist.BroadcastGlobalVariablesCallback(0), FailOnRankOne()])


def models_disagree(output_dir):
    keras.utils.set_random_seed(1)
    units = 4 if dist.rank() == 0 else 5
    model = keras.Sequential([keras.layers.Dense(units, input_shape=(3,))])
    model.compile(optimizer=dist.DistributedOptimizer(keras.optimizers.SGD()), loss="mse")
    model.fit(np.ones((8, 3), "float32"), np.ones((8, units), "float32"), verbose=0,
              callbacks=[dist.BroadcastGlobalVariablesCallback(0)])


def shared_memory_average(output_dir):
    """Gradients averaged through the shared-memory window and through MPI_Allreduce, on
    uneven sample counts, twice (the window is reused): the same bits on every rank."""
    import types
    from minikeras.core import distribution
    from minikeras.distribute.optimizer import average_gradients
    context = distribution.get_context()
    allreduce_only = types.SimpleNamespace(allreduce_sum_in_place=context.allreduce_sum_in_place)
    variables = [keras.Variable(np.zeros(shape, "float32")) for shape in [(37, 5), (5,), ()]]
    for step in range(2):
        rng = np.random.default_rng(10 * step + dist.rank())
        grads = [rng.normal(size=v.shape).astype("float32") for v in variables]
        pairs = list(zip(grads, variables))
        samples = dist.rank() + 1 + step
        plain = [np.array(g) for g, _ in average_gradients(pairs, allreduce_only, samples)]
        shared = [np.array(g) for g, _ in average_gradients(pairs, context, samples)]
        assert context._shared_sum is not None, "the shared-memory route was not taken"
        for a, b in zip(plain, shared):
            assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
            assert np.array_equal(a, b), np.abs(a - b).max()
        everyone = dist.allgather(np.concatenate([g.reshape(-1) for g in shared]))
        assert all(np.array_equal(everyone[0], other) for other in everyone)
    print(f"rank {dist.rank()}: shared-memory average matches")


def gradient_sizes_disagree(output_dir):
    from minikeras.core import distribution
    from minikeras.distribute.optimizer import average_gradients
    variable = keras.Variable(np.zeros(4 + dist.rank(), "float32"))
    average_gradients([(np.ones(variable.shape, "float32"), variable)],
                      distribution.get_context(), 1)


SCENARIOS = {"shared_memory_average": shared_memory_average,
             "gradient_sizes_disagree": gradient_sizes_disagree, "equivalence": equivalence, "chief_only_files": chief_only_files,
             "rank_fails": rank_fails, "models_disagree": models_disagree}

if __name__ == "__main__":
    dist.init()
    SCENARIOS[sys.argv[1]](sys.argv[2])
