"""minikeras.distribute: 2 MPI ranks against one process, sharding, failure behaviour."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minikeras as keras
from minikeras.core import distribution
from minikeras.distribute.optimizer import DistributedOptimizer, average_gradients
from minikeras.models import data_adapters as data_utils
from minikeras.models.distributed import callbacks_for_this_rank
from minikeras.layers.normalization.sync_batch_normalization import SyncBatchNormalization

from gradcheck import check_layer_gradients

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import mpi_scenarios  # noqa: E402


# --- a stand-in context: rank r of `size`, with the other ranks' contributions given ----------
class FakeContext:
    def __init__(self, rank, size, peer_sum=None, chief_only_output=True):
        self.rank, self.size, self.local_rank, self.local_size = rank, size, rank, size
        self.chief_only_output = chief_only_output
        self.peer_sum = peer_sum      # what the other ranks add to an allreduce

    def allreduce_sum(self, array):
        return array + (self.peer_sum if self.peer_sum is not None else array * (self.size - 1))

    def allreduce_sum_in_place(self, buffer):
        buffer[...] = self.allreduce_sum(buffer)
        return buffer

    def broadcast(self, obj, root=0):
        return obj

    def allgather(self, obj):
        return [obj] * self.size


@pytest.fixture
def fake_context():
    def install(*args, **kwargs):
        context = FakeContext(*args, **kwargs)
        distribution.set_context(context)
        return context
    yield install
    distribution.set_context(None)


def test_arrays_are_split_into_consecutive_shares_of_each_global_batch(fake_context):
    fake_context(rank=1, size=2)
    adapter = data_utils.ArrayAdapter(np.arange(21), batch_size=4, shard=True)
    batches = [b[0].tolist() for b in adapter.iterator()]
    # global batches of 8: [0..7], [8..15], [16..20]; rank 1 takes the second share of each.
    assert batches == [[4, 5, 6, 7], [12, 13, 14, 15], [19, 20]]
    assert adapter.size == 3
    assert distribution.take_local_samples() == 2
    unsharded = data_utils.ArrayAdapter(np.arange(21), batch_size=4)
    assert unsharded.size == 6 and len(list(unsharded.iterator())) == 6


def test_a_last_global_batch_smaller_than_the_rank_count_is_dropped(fake_context):
    fake_context(rank=0, size=4)
    adapter = data_utils.ArrayAdapter(np.arange(10), batch_size=2, shard=True)
    assert [b[0].tolist() for b in adapter.iterator()] == [[0, 1]]
    assert adapter.size == 1


def test_sequences_give_each_rank_every_size_th_batch(fake_context):
    class Batches(keras.utils.Sequence):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full((3, 1), i, "float32"), np.zeros((3, 1), "float32")
    fake_context(rank=1, size=2)
    adapter = data_utils.SequenceAdapter(Batches(), shard=True)
    assert [int(b[0][0, 0]) for b in adapter.iterator()] == [1, 3]
    assert adapter.size == 2


def test_gradients_are_averaged_with_sample_weights(fake_context):
    v = keras.Variable(np.zeros(3, "float32"), name="v")
    w = keras.Variable(np.zeros((), "float32"), name="w")
    local = [np.array([1.0, 2.0, 3.0], "float32"), np.array(4.0, "float32")]
    # the other rank had 1 sample and gradients [7, 8, 9], 10; this rank had 3 samples.
    peer = np.array([7.0, 8.0, 9.0, 10.0, 1.0], "float32")
    fake_context(rank=0, size=2, peer_sum=peer)
    averaged = average_gradients([(local[0], v), (None, None), (local[1], w)],
                                 distribution.get_context(), local_samples=3)
    np.testing.assert_allclose(averaged[0][0], (3 * local[0] + peer[:3]) / 4, rtol=1e-6)
    assert averaged[1] == (None, None)
    np.testing.assert_allclose(averaged[2][0], (3 * 4.0 + 10.0) / 4, rtol=1e-6)
    assert averaged[2][0].shape == () and averaged[0][1] is v


def test_distributed_optimizer_keeps_class_config_and_state():
    base = keras.optimizers.Adam(0.003, beta_1=0.8)
    wrapped = DistributedOptimizer(base)
    assert isinstance(wrapped, keras.optimizers.Adam)
    assert type(wrapped).__name__ == "Adam"
    assert wrapped.get_config() == base.get_config()
    assert DistributedOptimizer(wrapped) is wrapped
    with pytest.raises(NotImplementedError, match="backward_passes_per_step"):
        DistributedOptimizer(base, backward_passes_per_step=2)
    with pytest.raises(ValueError, match="optimizer instance"):
        DistributedOptimizer("adam")


def test_single_process_distributed_optimizer_trains_as_the_plain_one(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    results = []
    for wrap in (False, True):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.layers.Dense(1, input_shape=(4,))])
        optimizer = keras.optimizers.Adam(0.01)
        model.compile(optimizer=DistributedOptimizer(optimizer) if wrap else optimizer,
                      loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    model.save(tmp_path / "m.h5")       # saves as a plain Adam
    restored = keras.models.load_model(tmp_path / "m.h5")
    assert type(restored.optimizer).__name__ == "Adam"


def test_workers_drop_writing_callbacks_and_progress(fake_context, tmp_path):
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "c.h5"))
    logger = keras.callbacks.CSVLogger(str(tmp_path / "l.csv"))
    logger.all_ranks = True
    stopper = keras.callbacks.EarlyStopping()
    fake_context(rank=1, size=2)
    kept, verbose = callbacks_for_this_rank([checkpoint, logger, stopper], 1)
    assert kept == [logger, stopper] and verbose == 0
    fake_context(rank=0, size=2)
    assert callbacks_for_this_rank([checkpoint], 1) == ([checkpoint], 1)
    fake_context(rank=1, size=2, chief_only_output=False)
    assert callbacks_for_this_rank([checkpoint], 2) == ([checkpoint], 2)


def test_missing_mpi4py_gives_an_install_hint(monkeypatch):
    import builtins
    from minikeras.distribute import _context
    real_import = builtins.__import__

    def no_mpi(name, *args, **kwargs):
        if name.startswith("mpi4py"):
            raise ImportError("No module named 'mpi4py'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_mpi)
    with pytest.raises(ImportError, match=r"minikeras\[mpi\]"):
        _context.init()
    with pytest.raises(ValueError, match="has not been initialized"):
        _context.rank()


# --- SyncBatchNormalization in one process ------------------------------------------------
def test_sync_batch_norm_alone_is_a_non_fused_batch_norm():
    x = np.random.default_rng(1).normal(2.0, 3.0, size=(6, 4, 4, 3)).astype("float32")
    sync = SyncBatchNormalization(momentum=0.9)
    plain = keras.layers.BatchNormalization(momentum=0.9, fused=False)
    np.testing.assert_allclose(sync(x, training=True).data, plain(x, training=True).data,
                               atol=1e-5)
    for a, b in zip(sync.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert sync.compute_output_shape((None, 4, 4, 3)) == (None, 4, 4, 3)
    clone = SyncBatchNormalization.from_config(sync.get_config())
    assert clone.get_config() == sync.get_config()
    with pytest.raises(NotImplementedError, match="renorm"):
        SyncBatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="fused"):
        SyncBatchNormalization(fused=True)


def test_sync_batch_norm_gradients(float64):
    x = np.random.default_rng(2).normal(size=(5, 3)).astype("float64")
    check_layer_gradients(SyncBatchNormalization(), x, training=True)


def test_cross_replica_sum_backward_weighs_the_ranks(fake_context):
    from minikeras.core.tensor import GradientTape
    from minikeras.ops.collective import cross_replica_sum
    # the other rank (share 3/4) sends back 3/4 * [1, 1]; this rank's share is 1/4.
    fake_context(rank=0, size=2, peer_sum=np.array([0.75, 0.75], "float32"))
    x = keras.Variable(np.array([1.0, 2.0], "float32"))
    with GradientTape() as tape:
        total = cross_replica_sum(x, weight=0.25)
    np.testing.assert_allclose(total.data, [1.75, 2.75])
    (grad,) = tape.gradient(total, [x], output_gradients=np.ones(2, "float32"))
    np.testing.assert_allclose(grad, (0.25 * 1 + 0.75) / 0.25)


# --- real MPI ------------------------------------------------------------------------------
def _mpirun():
    pytest.importorskip("mpi4py", reason="the `mpi` extra (mpi4py + mpich) is not installed")
    for candidate in (Path(sys.executable).parent / "mpirun", shutil.which("mpirun"),
                      shutil.which("mpiexec")):
        if candidate and os.path.exists(candidate):
            return str(candidate)
    pytest.skip("no mpirun found (install the `mpi` extra)")


def run_on_two_ranks(scenario, output_dir, timeout=120, ranks=2):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run(
        [_mpirun(), "-n", str(ranks), sys.executable, str(HERE / "mpi_scenarios.py"), scenario,
         str(output_dir)], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def two_rank_results(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("mpi")
    result = run_on_two_ranks("equivalence", output_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    return output_dir


def _single_process(kind, optimizer_name):
    model, optimizer = mpi_scenarios.build_model(kind, optimizer_name)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = mpi_scenarios.make_data()
    model.fit(x, y, batch_size=2 * mpi_scenarios.PER_RANK_BATCH,
              epochs=mpi_scenarios.EPOCHS, shuffle=True, verbose=0)
    return model


@pytest.mark.parametrize("kind,optimizer_name", [("plain", "sgd"), ("plain", "adam"),
                                                  ("syncbn", "adam"), ("syncbn", "sgd")])
def test_two_ranks_match_one_process_with_twice_the_batch(two_rank_results, kind,
                                                         optimizer_name):
    model = _single_process(kind, optimizer_name)
    for rank in (0, 1):
        saved = np.load(two_rank_results / f"{kind}_{optimizer_name}_rank{rank}.npz")
        for i, (weight, expected) in enumerate(zip(model.weights, model.get_weights())):
            np.testing.assert_allclose(saved[f"w{i}"], expected, rtol=1e-4, atol=2e-5,
                                       err_msg=f"{weight.name} on rank {rank}")


def test_plain_batch_norm_keeps_per_rank_statistics(two_rank_results):
    ranks = [np.load(two_rank_results / f"bn_sgd_rank{r}.npz") for r in (0, 1)]
    model, _ = mpi_scenarios.build_model("bn", "sgd")
    for i, weight in enumerate(model.weights):
        same = np.array_equal(ranks[0][f"w{i}"], ranks[1][f"w{i}"])
        assert same == weight.trainable, weight.name   # moving statistics differ per rank


@pytest.mark.parametrize("ranks", [2, 3])
def test_shared_memory_average_is_the_allreduce_average(tmp_path, ranks):
    result = run_on_two_ranks("shared_memory_average", tmp_path, timeout=90, ranks=ranks)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("shared-memory average matches") == ranks


def test_ranks_averaging_different_gradient_sizes_stop_with_an_error(tmp_path):
    result = run_on_two_ranks("gradient_sizes_disagree", tmp_path, timeout=90)
    assert result.returncode != 0
    assert "ranks disagree on the model" in result.stdout + result.stderr


def test_only_the_chief_writes_checkpoints_and_logs(tmp_path):
    result = run_on_two_ranks("chief_only_files", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "ckpt_rank0.h5").exists() and (tmp_path / "log_rank0.csv").exists()
    assert not (tmp_path / "ckpt_rank1.h5").exists()
    assert not (tmp_path / "log_rank1.csv").exists()
    assert result.stdout.count("Epoch 1/2") == 1         # one progress bar, the chief's
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_failing_rank_ends_the_job_with_its_error(tmp_path):
    result = run_on_two_ranks("rank_fails", tmp_path, timeout=90)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "rank 1 of 2 failed" in output and "deliberate failure on rank 1" in output


def test_ranks_with_different_models_refuse_to_broadcast(tmp_path):
    result = run_on_two_ranks("models_disagree", tmp_path, timeout=90)
    assert result.returncode != 0
    assert "ranks disagree on the model" in result.stdout + result.stderr
