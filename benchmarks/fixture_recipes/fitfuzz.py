"""Seeded random whole training runs, recorded with tf_keras 2.21 (fid-fitfuzz sweep).

    python fitfuzz.py list [N]          # print the drawn specs (no TensorFlow needed)
    TF_ENABLE_ONEDNN_OPTS=0 TF_CPP_MIN_LOG_LEVEL=3 /work/peers/bin/python fitfuzz.py --peer record 0 150 a
    TF_ENABLE_ONEDNN_OPTS=0 TF_CPP_MIN_LOG_LEVEL=3 /work/peers/bin/python fitfuzz.py --peer record 150 150 b
    python fitfuzz.py merge a b         # -> cases.json, cases.npz

`draw_case(seed)` draws a small model (Dense / Conv1D / LSTM / GRU / Embedding /
BatchNormalization / Dropout(0) / LayerNormalization stacks with regularizers, one or two
outputs), an optimizer of every class tf_keras exports (current and legacy) with random
arguments (clipping, weight decay, EMA, every learning-rate schedule class), a loss with its
arguments, metrics, fit arguments (batch sizes that do not divide the data, class and sample
weights, validation split/data/freq, initial_epoch, steps_per_epoch over a repeating generator)
and callbacks (ReduceLROnPlateau, LearningRateScheduler, EarlyStopping, a callback setting a
float learning rate). `record` runs each case with tests/fixtures/fitfuzz/fitfuzz_run.py (the
same code the test runs with minikeras) and writes tests/fixtures/fitfuzz/cases.json (specs and
what tf_keras gives: History, evaluate, optimizer variable names, iterations, or the error) and
cases.npz (final weights and optimizer variables). The tests never import this recipe."""
import json
import os
import sys

import numpy as np

from peer import Drawer, fixture_dir

FIRST_SEED = 1000
N_CASES = 300
HERE = fixture_dir("fitfuzz")

NEW_OPTIMIZERS = ["SGD", "RMSprop", "Adam", "AdamW", "Adamax", "Nadam", "Adagrad", "Adadelta",
                  "Ftrl", "Lion", "Adafactor"]
LEGACY_OPTIMIZERS = ["SGD", "RMSprop", "Adam", "Adamax", "Nadam", "Adagrad", "Adadelta", "Ftrl"]


# --- model -------------------------------------------------------------------------------------

def maybe_regularizer(d, p=0.25):
    if not d.flip(p):
        return None
    return [d.pick(["l1", "l2", "l1_l2"]), d.log_uniform(1e-4, 1e-2), d.log_uniform(1e-4, 1e-2)]


def regularized(d, kwargs, keys=("kernel_regularizer", "bias_regularizer")):
    for key in keys:
        reg = maybe_regularizer(d)
        if reg:
            kwargs[key] = reg
    if d.flip(0.1):
        kwargs["activity_regularizer"] = maybe_regularizer(d, 1.0)
    return kwargs


def dense_entry(d):
    kwargs = {"units": d.int(2, 5), "activation": d.pick(["relu", "tanh", "sigmoid", None, "elu"]),
              "use_bias": d.flip(0.85)}
    return {"cls": "Dense", "kwargs": regularized(d, kwargs)}


def normalization_entry(d, axis_ok=True):
    if d.flip():
        kwargs = {"momentum": d.pick([0.99, 0.9, 0.5]), "epsilon": d.pick([1e-3, 1e-5]),
                  "center": d.flip(0.8), "scale": d.flip(0.8)}
        return {"cls": "BatchNormalization",
                "kwargs": regularized(d, kwargs, ("gamma_regularizer", "beta_regularizer"))}
    kwargs = {"epsilon": d.pick([1e-3, 1e-6]), "center": d.flip(0.8), "scale": d.flip(0.8)}
    return {"cls": "LayerNormalization", "kwargs": kwargs}


def rnn_entry(d, return_sequences):
    cls = d.pick(["LSTM", "GRU"])
    kwargs = {"units": d.int(2, 4), "return_sequences": return_sequences}
    if cls == "GRU":
        kwargs["reset_after"] = d.flip(0.7)
    if d.flip(0.2):
        kwargs["go_backwards"] = True
    if cls == "LSTM" and d.flip(0.2):
        kwargs["unit_forget_bias"] = False
    return {"cls": cls, "kwargs": regularized(d, kwargs, ("kernel_regularizer",
                                                          "recurrent_regularizer"))}


def conv_entry(d):
    kwargs = {"filters": d.int(2, 4), "kernel_size": d.int(1, 3),
              "padding": d.pick(["valid", "same", "causal"]),
              "activation": d.pick(["relu", "tanh", None])}
    if kwargs["kernel_size"] > 1 and d.flip(0.2):
        kwargs["dilation_rate"] = 2 if kwargs["padding"] != "valid" else 1
    return {"cls": "Conv1D", "kwargs": regularized(d, kwargs)}


def draw_body(d, input_kind):
    body = []
    if input_kind == "tokens":
        kwargs = {"input_dim": 7, "output_dim": d.int(2, 4)}
        if d.flip(0.2):
            kwargs["embeddings_regularizer"] = maybe_regularizer(d, 1.0)
        body.append({"cls": "Embedding", "kwargs": kwargs})
    if input_kind in ("tokens", "sequence"):
        for _ in range(d.int(0, 2)):
            choice = d.pick(["conv", "rnn", "norm", "dropout", "dense"])
            if choice == "conv":
                body.append(conv_entry(d))
            elif choice == "rnn":
                body.append(rnn_entry(d, True))
            elif choice == "norm":
                body.append(normalization_entry(d))
            elif choice == "dropout":
                body.append({"cls": "Dropout", "kwargs": {"rate": 0.0}})
            else:
                body.append(dense_entry(d))
        ending = d.pick(["rnn", "flatten", "pool"])
        if ending == "rnn":
            body.append(rnn_entry(d, False))
        elif ending == "flatten":
            body.append({"cls": "Flatten", "kwargs": {}})
        else:
            body.append({"cls": d.pick(["GlobalAveragePooling1D", "GlobalMaxPooling1D"]),
                         "kwargs": {}})
    for _ in range(d.int(0 if body else 1, 2)):
        choice = d.pick(["dense", "dense", "norm", "dropout"])
        if choice == "dense":
            body.append(dense_entry(d))
        elif choice == "norm":
            body.append(normalization_entry(d))
        else:
            body.append({"cls": "Dropout", "kwargs": {"rate": 0.0}})
    return body


# --- losses and metrics ------------------------------------------------------------------------

def reduction(d):
    return d.pick(["auto", "auto", "sum_over_batch_size", "sum", "none"])


def draw_head(d, name):
    """An output head: its units/activation, the target kind, its loss and metrics."""
    family = d.pick(["regression", "binary", "categorical", "sparse", "other"])
    from_logits = d.flip(0.4)
    metrics = []
    if family == "regression":
        units = d.int(1, 3)
        loss = d.pick([
            "mse", "mae",
            {"cls": "MeanSquaredError", "kwargs": {"reduction": reduction(d)}},
            {"cls": "MeanAbsoluteError", "kwargs": {"reduction": reduction(d)}},
            {"cls": "Huber", "kwargs": {"delta": d.pick([0.5, 1.0, 2.0]), "reduction": reduction(d)}},
            {"cls": "LogCosh", "kwargs": {}},
            {"cls": "CosineSimilarity", "kwargs": {"axis": -1}},
        ])
        metrics = d.pick([["mae"], ["mse", "mae"], [{"cls": "RootMeanSquaredError", "kwargs": {}}],
                          [{"cls": "MeanAbsolutePercentageError", "kwargs": {}}], []])
        head = {"units": units, "activation": d.pick([None, "tanh"]), "target": "regression"}
    elif family == "binary":
        units = d.int(1, 2)
        loss = d.pick([
            "binary_crossentropy",
            {"cls": "BinaryCrossentropy", "kwargs": {"from_logits": from_logits,
                                                     "label_smoothing": d.pick([0.0, 0.1, 0.3]),
                                                     "reduction": reduction(d)}},
            {"cls": "BinaryFocalCrossentropy",
             "kwargs": {"from_logits": from_logits, "gamma": d.pick([0.0, 2.0, 1.5]),
                        "apply_class_balancing": d.flip(0.3), "alpha": d.pick([0.25, 0.6]),
                        "label_smoothing": d.pick([0.0, 0.1])}},
            {"cls": "Hinge", "kwargs": {}}, {"cls": "SquaredHinge", "kwargs": {}},
        ])
        if isinstance(loss, str) or loss["cls"] in ("Hinge", "SquaredHinge"):
            from_logits = False
        metrics = d.pick([["accuracy"], ["binary_accuracy"],
                          [{"cls": "AUC", "kwargs": {"num_thresholds": 20,
                                                     "from_logits": from_logits}}],
                          [{"cls": "Precision", "kwargs": {}}, {"cls": "Recall", "kwargs": {}}],
                          [{"cls": "BinaryAccuracy", "kwargs": {"threshold": 0.3}}], []])
        if from_logits:
            metrics = [m for m in metrics if not isinstance(m, dict) or m["cls"] == "AUC"]
        head = {"units": units, "activation": None if from_logits else "sigmoid",
                "target": "binary"}
    elif family == "categorical":
        units = d.int(2, 4)
        loss = d.pick([
            "categorical_crossentropy",
            {"cls": "CategoricalCrossentropy",
             "kwargs": {"from_logits": from_logits, "label_smoothing": d.pick([0.0, 0.2]),
                        "reduction": reduction(d), "axis": -1}},
            {"cls": "CategoricalFocalCrossentropy",
             "kwargs": {"from_logits": from_logits, "gamma": d.pick([2.0, 0.5]),
                        "alpha": d.pick([0.25, 1.0]), "label_smoothing": d.pick([0.0, 0.1])}},
            {"cls": "CategoricalHinge", "kwargs": {}},
            {"cls": "KLDivergence", "kwargs": {}},
        ])
        if isinstance(loss, str) or loss["cls"] in ("CategoricalHinge", "KLDivergence"):
            from_logits = False
        metrics = d.pick([["accuracy"], ["categorical_accuracy"],
                          [{"cls": "TopKCategoricalAccuracy", "kwargs": {"k": 2}}],
                          [{"cls": "CategoricalCrossentropy", "kwargs": {"from_logits": from_logits}}],
                          []])
        target = "probabilities" if not isinstance(loss, str) and loss["cls"] == "KLDivergence" \
            else "categorical"
        head = {"units": units, "activation": None if from_logits else "softmax", "target": target}
    elif family == "sparse":
        units = d.int(2, 4)
        kwargs = {"from_logits": from_logits, "reduction": reduction(d)}
        if d.flip(0.2):
            kwargs["ignore_class"] = 0
        loss = d.pick(["sparse_categorical_crossentropy",
                       {"cls": "SparseCategoricalCrossentropy", "kwargs": kwargs}])
        if isinstance(loss, str):
            from_logits = False
        metrics = d.pick([["accuracy"], ["sparse_categorical_accuracy"],
                          [{"cls": "SparseTopKCategoricalAccuracy", "kwargs": {"k": 2}}], []])
        head = {"units": units, "activation": None if from_logits else "softmax",
                "target": d.pick(["sparse", "sparse_column"])}
    else:
        units = d.int(1, 3)
        loss = d.pick([{"cls": "Poisson", "kwargs": {}},
                       {"cls": "MeanSquaredLogarithmicError", "kwargs": {}},
                       "poisson", "msle"])
        metrics = d.pick([["mae"], ["poisson"], []])
        head = {"units": units, "activation": "softplus", "target": "positive"}
    head["name"] = name
    return head, loss, metrics


# --- optimizer ---------------------------------------------------------------------------------

def draw_schedule(d):
    cls = d.pick(["ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
                  "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts"])
    lr = d.log_uniform(0.003, 0.1)
    if cls == "ExponentialDecay":
        kwargs = {"initial_learning_rate": lr, "decay_steps": d.int(1, 5),
                  "decay_rate": d.uniform(0.5, 0.99), "staircase": d.flip()}
    elif cls == "PiecewiseConstantDecay":
        kwargs = {"boundaries": [2, 5], "values": [lr, lr / 2, lr / 5]}
    elif cls == "PolynomialDecay":
        kwargs = {"initial_learning_rate": lr, "decay_steps": d.int(2, 8),
                  "end_learning_rate": lr / 10, "power": d.pick([1.0, 0.5, 2.0]), "cycle": d.flip()}
    elif cls == "InverseTimeDecay":
        kwargs = {"initial_learning_rate": lr, "decay_steps": d.int(1, 4),
                  "decay_rate": d.uniform(0.1, 1.0), "staircase": d.flip()}
    elif cls == "CosineDecay":
        kwargs = {"initial_learning_rate": lr, "decay_steps": d.int(2, 10), "alpha": d.pick([0.0, 0.1])}
        if d.flip():
            kwargs.update(initial_learning_rate=lr / 10, warmup_target=lr, warmup_steps=d.int(1, 4))
    else:
        kwargs = {"initial_learning_rate": lr, "first_decay_steps": d.int(1, 4),
                  "t_mul": d.pick([1.0, 2.0]), "m_mul": d.pick([1.0, 0.5]), "alpha": d.pick([0.0, 0.1])}
    return {"cls": cls, "kwargs": kwargs}


def draw_optimizer(d, floatx):
    legacy = d.flip(0.35)
    cls = d.pick(LEGACY_OPTIMIZERS if legacy else NEW_OPTIMIZERS)
    kwargs = {}
    lr = d.log_uniform(0.002, 0.1)
    if cls == "SGD":
        kwargs["momentum"] = d.pick([0.0, 0.5, 0.9])
        kwargs["nesterov"] = d.flip(0.4)
    elif cls == "RMSprop":
        kwargs.update(rho=d.pick([0.9, 0.7]), momentum=d.pick([0.0, 0.5]), centered=d.flip(0.4),
                      epsilon=d.pick([1e-7, 1e-3]))
    elif cls in ("Adam", "AdamW"):
        kwargs.update(beta_1=d.pick([0.9, 0.8]), beta_2=d.pick([0.999, 0.95]),
                      amsgrad=d.flip(0.3), epsilon=d.pick([1e-7, 1e-4]))
        if cls == "AdamW":
            kwargs["weight_decay"] = d.pick([0.004, 0.1])
    elif cls in ("Adamax", "Nadam"):
        kwargs.update(beta_1=d.pick([0.9, 0.8]), beta_2=d.pick([0.999, 0.95]))
    elif cls == "Adagrad":
        kwargs["initial_accumulator_value"] = d.pick([0.1, 0.01, 1.0])
        lr = d.log_uniform(0.01, 0.3)
    elif cls == "Adadelta":
        kwargs["rho"] = d.pick([0.95, 0.5])
        lr = d.pick([1.0, 0.5, 0.05])
    elif cls == "Ftrl":
        kwargs.update(learning_rate_power=d.pick([-0.5, -0.3, 0.0]),
                      initial_accumulator_value=d.pick([0.1, 0.5]),
                      l1_regularization_strength=d.pick([0.0, 0.01]),
                      l2_regularization_strength=d.pick([0.0, 0.01]),
                      l2_shrinkage_regularization_strength=d.pick([0.0, 0.01]),
                      beta=d.pick([0.0, 0.5]))
        lr = d.log_uniform(0.01, 0.3)
    elif cls == "Lion":
        kwargs.update(beta_1=d.pick([0.9, 0.8]), beta_2=d.pick([0.99, 0.9]))
        lr = d.log_uniform(0.0005, 0.01)
    elif cls == "Adafactor":
        kwargs.update(beta_2_decay=d.pick([-0.8, -0.5]), clip_threshold=d.pick([1.0, 0.5]),
                      relative_step=d.flip(0.5))
    schedule = None
    if d.flip(0.3) and cls != "Adadelta":
        schedule = draw_schedule(d)
    else:
        kwargs["learning_rate"] = lr
    clip = d.pick([None, None, None, "clipnorm", "clipvalue", "global_clipnorm"])
    if clip:
        kwargs[clip] = d.pick([0.1, 0.5, 1.0])
    if legacy:
        if d.flip(0.25):
            kwargs["decay"] = d.pick([0.01, 0.1])
    else:
        if cls not in ("AdamW",) and d.flip(0.2):
            kwargs["weight_decay"] = d.pick([0.004, 0.05])
        if d.flip(0.2):
            kwargs["use_ema"] = True
            kwargs["ema_momentum"] = d.pick([0.99, 0.5])
            if d.flip(0.6):
                kwargs["ema_overwrite_frequency"] = d.int(1, 4)
    return {"cls": cls, "legacy": legacy, "kwargs": kwargs, "schedule": schedule}


# --- fit ---------------------------------------------------------------------------------------

def draw_callbacks(d, has_validation, schedule, legacy, epochs):
    callbacks = []
    monitor_choices = ["loss", "val_loss"] if has_validation else ["loss"]
    # tf refuses to set a schedule's learning rate: keep a few such cases for the error
    lr_callbacks = schedule is None or d.flip(0.1)
    if lr_callbacks and d.flip(0.2):
        callbacks.append({"cls": "ReduceLROnPlateau", "kwargs": {
            "monitor": d.pick(monitor_choices), "factor": d.pick([0.5, 0.1]),
            "patience": d.int(0, 1), "min_delta": d.pick([0.0, 1e-4, 0.5]),
            "cooldown": d.int(0, 1), "min_lr": d.pick([0.0, 1e-3])}})
    if lr_callbacks and d.flip(0.15):
        callbacks.append({"cls": "LearningRateScheduler",
                          "kwargs": {"schedule": d.pick(["halve_after_1", "exp_decay",
                                                         "fixed_by_epoch", "int_epoch"])}})
    if lr_callbacks and d.flip(0.12):
        values = [d.log_uniform(0.001, 0.05) for _ in range(4)]
        callbacks.append({"cls": "SetLearningRate",
                          "kwargs": {"values": values, "per_batch": d.flip(0.3)}})
    if d.flip(0.25):
        kwargs = {"monitor": d.pick(monitor_choices), "patience": d.int(0, 2),
                  "min_delta": d.pick([0.0, 0.01, 1.0]), "restore_best_weights": d.flip(0.6),
                  "mode": d.pick(["auto", "min"])}
        if d.flip(0.3):
            kwargs["baseline"] = d.pick([0.5, 100.0, 1e-3])
        if d.flip(0.3):
            kwargs["start_from_epoch"] = d.int(1, epochs)
        callbacks.append({"cls": "EarlyStopping", "kwargs": kwargs})
    return callbacks


def draw_case(seed):
    d = Drawer(seed)
    floatx = "float64" if d.flip(0.12) else "float32"
    input_kind = d.pick(["vector", "vector", "sequence", "tokens"])
    if input_kind == "vector":
        shape = [d.int(2, 5)]
    elif input_kind == "sequence":
        shape = [d.int(3, 5), d.int(1, 3)]
    else:
        shape = [d.int(3, 5)]
    n_heads = 2 if d.flip(0.25) else 1
    heads, losses, metrics = [], [], []
    for k in range(n_heads):
        head, loss, head_metrics = draw_head(d, f"out{k}")
        heads.append(head)
        losses.append(loss)
        metrics.append(head_metrics)
    model = {"input": {"kind": input_kind, "shape": shape, "vocab": 7},
             "body": draw_body(d, input_kind), "heads": heads,
             "sequential": n_heads == 1 and d.flip(0.5)}
    compile_spec = {"loss": losses, "metrics": metrics}
    if n_heads > 1 and d.flip(0.5):
        compile_spec["loss_weights"] = [d.pick([1.0, 0.5, 2.0]), d.pick([1.0, 0.3])]
    n = d.int(9, 23)
    epochs = d.int(1, 4)
    fit = {"epochs": epochs, "batch_size": d.pick([None, 3, 4, 5, 7, 8, 16, 64])}
    if d.flip(0.3):
        fit["sample_weight"] = True
        if d.flip(0.5):
            compile_spec["weighted_metrics"] = [d.pick(["mae", "mse"])]
    single_class = n_heads == 1 and heads[0]["target"] in ("categorical", "sparse",
                                                            "sparse_column", "binary")
    if single_class and d.flip(0.25):
        n_classes = heads[0]["units"] if heads[0]["target"] != "binary" else 2
        fit["class_weight"] = {str(c): d.pick([0.5, 1.0, 2.0, 3.0]) for c in range(n_classes)}
    generator = d.flip(0.15)
    has_validation = False
    if generator:
        fit.update(generator=True, batch_size=fit["batch_size"] or 4,
                   steps_per_epoch=d.int(2, 5))
        fit.pop("class_weight", None) if d.flip(0.5) else None
    elif d.flip(0.07):
        fit["steps_per_epoch"] = d.int(1, 3)
    if not generator and d.flip(0.3):
        fit["validation_split"] = d.pick([0.2, 0.25, 0.34])
        has_validation = True
    elif d.flip(0.25):
        fit["validation_data"] = {"n": d.int(3, 6), "weighted": d.flip(0.4)}
        has_validation = True
    if has_validation and d.flip(0.25):
        fit["validation_freq"] = d.pick([2, [1, 3], [2]])
    if epochs > 1 and d.flip(0.15):
        fit["initial_epoch"] = d.int(1, epochs - 1)
    optimizer = draw_optimizer(d, floatx)
    callbacks = draw_callbacks(d, has_validation, optimizer["schedule"], optimizer["legacy"],
                               epochs)
    return {"seed": seed, "floatx": floatx, "n_samples": n, "model": model,
            "compile": compile_spec, "fit": fit, "optimizer": optimizer,
            "callbacks": callbacks, "evaluate_batch_size": d.pick([None, 4, 7])}


def cases(count=N_CASES):
    return [draw_case(FIRST_SEED + k) for k in range(count)]


def load_runner():
    import importlib.util
    path = os.path.join(HERE, "fitfuzz_run.py")
    spec = importlib.util.spec_from_file_location("fitfuzz_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(first, count, part):
    """Record cases FIRST_SEED+first .. +count into part files (several run side by side)."""
    import tf_keras as keras
    runner = load_runner()
    facts, arrays = {}, {}
    for case in cases(first + count)[first:]:
        name = str(case["seed"])
        result, case_arrays = runner.run_case(keras, case)
        facts[name] = {"spec": case, **result}
        arrays.update({f"{name}/{k}": v for k, v in case_arrays.items()})
        print(name, result.get("error", "ok"), flush=True)
    with open(os.path.join(HERE, f"part{part}.json"), "w") as f:
        json.dump(facts, f, separators=(",", ":"))
    np.savez_compressed(os.path.join(HERE, f"part{part}.npz"), **arrays)


def record_iterations():
    """tests/fixtures/fitfuzz/iterations.json: tf_keras' iterations and History length of
    the runner's ITERATION_CASES (fits whose input runs out inside a step)."""
    import tf_keras as keras
    runner = load_runner()
    facts = {name: runner.run_iteration_case(keras, path, arguments)
             for name, path, arguments in runner.ITERATION_CASES}
    with open(os.path.join(HERE, "iterations.json"), "w") as f:
        json.dump({"cases": runner.ITERATION_CASES, "tf_keras": facts}, f, indent=1)


def merge(parts):
    """Join the part files into cases.json / cases.npz."""
    facts, arrays = {}, {}
    for part in parts:
        with open(os.path.join(HERE, f"part{part}.json")) as f:
            facts.update(json.load(f))
        with np.load(os.path.join(HERE, f"part{part}.npz")) as data:
            arrays.update({k: data[k] for k in data.files})
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(facts, f, separators=(",", ":"))
    np.savez_compressed(os.path.join(HERE, "cases.npz"), **arrays)
    for part in parts:
        os.remove(os.path.join(HERE, f"part{part}.json"))
        os.remove(os.path.join(HERE, f"part{part}.npz"))


if __name__ == "__main__":
    if "--peer" in sys.argv:
        from peer import require_peer
        require_peer()
    command = sys.argv[1] if len(sys.argv) > 1 else "list"
    if command == "list":
        for case in cases(int(sys.argv[2]) if len(sys.argv) > 2 else N_CASES):
            print(json.dumps(case))
    elif command == "record":   # record FIRST COUNT PART
        record(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif command == "merge":    # merge PART...
        merge(sys.argv[2:])
    elif command == "iterations":
        record_iterations()
