"""Round 3 of bad inputs, bad paths and interrupted work, each compared with tf_keras 2.21 (the
peer venv; probes in /work/scratch/fid-adv3/, outside the repository): what tf_keras accepts
works the same here, what it refuses is refused with an error naming the problem."""
import os
import signal
import threading

import numpy as np
import pytest

import minikeras as keras

X = np.arange(24, dtype="float32").reshape(8, 3) / 10
Y = np.array([[0, 1], [1, 0]] * 4, "float32")


def small_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy")
    return model


def save(model, path):
    name = os.path.basename(path)
    (model.save_weights if name.startswith("w") else model.save)(path)


# --- paths ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["m" * 249 + ".keras", "m" * 252 + ".h5",
                                  "w" * 244 + ".weights.h5", "é" * 124 + ".keras",
                                  "w" + "模" * 83 + ".h5"],
                         ids=["keras", "h5", "weights.h5", "two-byte characters", "cjk"])
def test_a_file_name_of_the_longest_legal_length_saves_and_loads(tmp_path, name):
    # tf_keras saves under a 255-byte name; minikeras' temporary file (the target's name plus
    # ~40 bytes) went past the file system's cap: OSError "[Errno 36] File name too long"
    assert 250 <= len(name.encode()) <= 255
    model = small_model()
    save(model, str(tmp_path / name))
    assert os.listdir(tmp_path) == [name]
    if name.startswith("w"):
        loaded = small_model()
        loaded.load_weights(str(tmp_path / name))
    else:
        loaded = keras.models.load_model(str(tmp_path / name))
    for saved, read in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(saved, read)


def test_a_file_name_beyond_the_cap_names_the_target(tmp_path):
    # tf_keras: OSError "[Errno 36] File name too long: '<the target>'"
    name = "m" * 252 + ".keras"
    with pytest.raises(OSError, match="File name too long: '[^']*/m{200}"):
        small_model().save(str(tmp_path / name))
    assert os.listdir(tmp_path) == []


# --- Ctrl-C during training -------------------------------------------------------------------
def _bn_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(6),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    model.set_weights([np.full(w.shape, 0.1 * (i + 1), "float32")
                       for i, w in enumerate(model.get_weights())])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


def _ctrl_c_inside_update(monkeypatch, model, at_call):
    """SIGINT arrives while the optimizer updates: after the first variable of a step."""
    update_step = type(model.optimizer).update_step
    calls = []

    def interrupted_update(optimizer, gradient, variable):
        calls.append(variable)
        update_step(optimizer, gradient, variable)
        if len(calls) == at_call:
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(type(model.optimizer), "update_step", interrupted_update)


def _assert_whole_steps(model):
    """The weights, moving statistics and optimizer slots are those of `iterations` whole
    steps (replayed on a fresh model)."""
    steps = int(model.optimizer.iterations.numpy())
    replay = _bn_model()
    for start in range(0, 4 * steps, 4):
        replay.train_on_batch(X[start:start + 4], Y[start:start + 4])
    for interrupted, whole in zip(model.get_weights() + model.optimizer.get_weights(),
                                  replay.get_weights() + replay.optimizer.get_weights()):
        np.testing.assert_allclose(interrupted, whole, rtol=1e-6, atol=1e-7)
    return steps


def test_ctrl_c_in_the_middle_of_a_fit_step_waits_for_the_step_to_end(monkeypatch):
    # tf.keras' compiled step is one call: Ctrl-C takes effect between steps. minikeras raised
    # in the middle of the optimizer's update (one kernel updated, the rest and `iterations` not)
    model = _bn_model()
    _ctrl_c_inside_update(monkeypatch, model, at_call=len(model.trainable_weights) + 1)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, batch_size=4, epochs=3, verbose=0, shuffle=False)
    monkeypatch.undo()
    assert _assert_whole_steps(model) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_in_the_middle_of_train_on_batch_waits_for_the_step_to_end(monkeypatch):
    model = _bn_model()
    model.train_on_batch(X[:4], Y[:4])
    _ctrl_c_inside_update(monkeypatch, model, at_call=1)
    with pytest.raises(KeyboardInterrupt):
        model.train_on_batch(X[4:], Y[4:])
    monkeypatch.undo()
    assert _assert_whole_steps(model) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_between_steps_still_raises_at_once():
    ran_after = []

    class CtrlC(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                os.kill(os.getpid(), signal.SIGINT)
                ran_after.append(batch)     # not reached: the interrupt is raised right here
    model = _bn_model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, batch_size=4, epochs=2, verbose=0, shuffle=False, callbacks=[CtrlC()])
    assert ran_after == [] and int(model.optimizer.iterations.numpy()) == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_fit_in_another_thread_leaves_the_signal_handler_alone():
    seen = []

    class Look(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(signal.getsignal(signal.SIGINT))
    thread = threading.Thread(target=lambda: _bn_model().fit(X, Y, batch_size=4, verbose=0,
                                                             callbacks=[Look()]))
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler] * 2


# --- attention layers built functionally ------------------------------------------------------
@pytest.mark.parametrize("make_layer", [keras.layers.Attention, keras.layers.AdditiveAttention])
@pytest.mark.parametrize("count", [1, 4])
def test_attention_on_a_list_of_the_wrong_length_while_building(make_layer, count):
    # tf_keras: ValueError "Attention layer accepts inputs list of length 2 or 3, namely [query,
    # value] or [query, value, key]. Received length: 1." (minikeras: IndexError for 1, and a
    # model built silently from 4)
    query = keras.Input((3, 4))
    with pytest.raises(ValueError, match=f"layer accepts inputs list of length 2 or 3, namely "
                                         rf"\[query, value\] or \[query, value, key\]. Received "
                                         f"length: {count}."):
        make_layer()([query] * count)


def test_attention_on_a_single_tensor_while_building():
    # tf_keras: ValueError "Attention layer must be called on a list of inputs, namely [query,
    # value] or [query, value, key]. Received: Tensor(...)" (minikeras: TypeError from inside)
    with pytest.raises(ValueError, match="Attention layer must be called on a list of inputs"):
        keras.layers.Attention()(keras.Input((3, 4)))


def test_attention_with_two_and_three_inputs_still_builds():
    query, value, key = keras.Input((3, 4)), keras.Input((5, 4)), keras.Input((5, 4))
    assert keras.layers.Attention()([query, value, key]).shape == (None, 3, 4)
    assert keras.layers.AdditiveAttention()([query, value]).shape == (None, 3, 4)


@pytest.mark.parametrize("functional", [True, False])
def test_multi_head_attention_with_keys_and_values_of_other_lengths(functional):
    # tf_keras: ValueError "Dimensions must be equal, but are 4 and 3" from its einsum (its
    # compute_output_shape: "All dimensions of `value` and `key`, except the last one, must be
    # equal."); minikeras built the model, and NumPy's einsum failed at predict
    layer = keras.layers.MultiHeadAttention(2, 2)
    shapes = [(3, 4), (3, 5), (4, 5)]
    inputs = [keras.Input(shape) for shape in shapes] if functional else \
        [np.ones((2,) + shape, "float32") for shape in shapes]
    with pytest.raises(ValueError, match=r"All dimensions of `value` and `key`, except the last "
                                         r"one, must be equal. Received \((None|2), 3, 5\) and "
                                         r"\((None|2), 4, 5\)"):
        layer(*inputs)
    assert keras.layers.MultiHeadAttention(2, 2)(inputs[0], inputs[2], inputs[2]).shape[1:] == \
        (3, 4)


# --- shapes checked while a functional model is built -------------------------------------------
@pytest.mark.parametrize("make_layer", [lambda: keras.layers.LSTM(2), lambda: keras.layers.GRU(2),
                                        lambda: keras.layers.SimpleRNN(2),
                                        lambda: keras.layers.RNN(keras.layers.LSTMCell(2)),
                                        lambda: keras.layers.Bidirectional(keras.layers.LSTM(2))],
                         ids=["LSTM", "GRU", "SimpleRNN", "RNN(LSTMCell)", "Bidirectional"])
def test_recurrent_layers_on_a_rank_4_input_while_building(make_layer):
    # tf_keras: ValueError 'Input 0 of layer "lstm" is incompatible with the layer: expected
    # ndim=3, found ndim=4. Full shape received: (None, 4, 4, 4)' (RNN(LSTMCell): an error from
    # inside the cell); minikeras built a model whose predict then failed
    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=4. Full shape received: "
                                         r"\(None, 4, 4, 4\)"):
        make_layer()(keras.Input((4, 4, 4)))


def test_conv_lstm_still_takes_its_rank_5_input():
    assert keras.layers.ConvLSTM2D(2, 3)(keras.Input((2, 5, 5, 1))).shape == (None, 3, 3, 2)


def test_concatenate_takes_known_sizes_from_any_input():
    # tf_keras (TensorFlow's static shapes): (None, 4, 5); minikeras: (None, None, 5)
    first, second = keras.Input((None, 2)), keras.Input((4, 3))
    model = keras.Model([first, second], keras.layers.Concatenate()([first, second]))
    assert model.output_shape == (None, 4, 5)
    assert keras.layers.Concatenate(axis=1)([keras.Input((None, 3)), second]).shape == \
        (None, None, 3)


# --- load_model arguments ---------------------------------------------------------------------
@pytest.mark.parametrize("filename", ["m.keras", "m.h5"])
def test_custom_objects_that_are_not_a_dict_are_the_callers_error(tmp_path, filename):
    # tf_keras: TypeError "'list' object is not a mapping"; minikeras blamed the file
    # (CorruptFileError "its model config is malformed")
    small_model().save(str(tmp_path / filename))
    with pytest.raises(TypeError, match=r"`custom_objects` must be a dict .* Received: "
                                        r"custom_objects=\[<class"):
        keras.models.load_model(str(tmp_path / filename), custom_objects=[keras.layers.Dense])
    loaded = keras.models.load_model(str(tmp_path / filename), custom_objects={})
    assert loaded.output_shape == (None, 2)


# --- integer inputs to a layer called directly --------------------------------------------------
@pytest.mark.parametrize("dtype", ["int32", "int64", "bool", "uint8"])
def test_dense_called_on_integers_computes_in_float32(dtype):
    # tf_keras: Dense casts its input to float32 ((1, 1) float32 [1099511627776.] for
    # [[2**40, 1]] and ones); minikeras gave float64 for int32/int64 (NumPy's promotion)
    layer = keras.layers.Dense(1, kernel_initializer="ones")
    values = np.array([[2 ** 40, 1]]) if dtype == "int64" else np.array([[1, 0]])
    out = np.asarray(layer(values.astype(dtype)))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, values.astype("float32").sum(axis=1, keepdims=True))


def test_softmax_axis_beyond_the_rank_while_building():
    # tf_keras: InvalidArgumentError "`dim` must be in the range [-2, 2) where 2 is the number
    # of dimensions in the input. Received: dim=2" (minikeras built the model)
    with pytest.raises(ValueError, match=r"`dim` must be in the range \[-2, 2\) where 2 is the "
                                         r"number of dimensions in the input. Received: dim=2"):
        keras.layers.Softmax(axis=2)(keras.Input((4,)))
    assert keras.layers.Softmax(axis=[1, 2])(keras.Input((4, 3))).shape == (None, 4, 3)


@pytest.mark.parametrize("make_layer,shape", [
    (lambda: keras.layers.CategoryEncoding(3), (2, 2)),
    (lambda: keras.layers.CategoryEncoding(3, output_mode="one_hot"), (2,)),
    (lambda: keras.layers.IntegerLookup(vocabulary=[1, 2], output_mode="multi_hot"), (2, 2)),
], ids=["multi_hot", "one_hot", "lookup"])
def test_categorical_encoding_beyond_rank_2_while_building(make_layer, shape):
    # tf_keras: ValueError "When output_mode is not `'int'`, maximum supported output rank is 2.
    # Received output_mode multi_hot and input shape (None, 2, 2), which would result in output
    # rank 3." (minikeras built the model with a (None, 2, 3) output)
    with pytest.raises(ValueError, match="maximum supported output rank is 2. Received "
                                         r"output_mode \w+ and input shape \(None, 2"):
        make_layer()(keras.Input(shape, dtype="int64"))
    assert keras.layers.CategoryEncoding(3)(keras.Input((2,), dtype="int64")).shape == (None, 3)


IMAGE_LAYERS = {
    "Resizing": lambda: keras.layers.Resizing(2, 2),
    "CenterCrop": lambda: keras.layers.CenterCrop(2, 2),
    "RandomCrop": lambda: keras.layers.RandomCrop(2, 2),
    "RandomFlip": lambda: keras.layers.RandomFlip(),
    "RandomZoom": lambda: keras.layers.RandomZoom(0.1),
    "RandomRotation": lambda: keras.layers.RandomRotation(0.1),
    "RandomHeight": lambda: keras.layers.RandomHeight(0.1),
}


@pytest.mark.parametrize("name", sorted(IMAGE_LAYERS))
@pytest.mark.parametrize("shape", [(4,), (4, 4, 4, 4)], ids=["rank-2", "rank-5"])
def test_image_layers_on_non_images_while_building(name, shape):
    # tf_keras: ValueError "'images' must have either 3 or 4 dimensions." (or another error from
    # its image ops) while the model is built; minikeras built it and failed at fit/predict
    with pytest.raises(ValueError, match="expects a 3D \\(unbatched\\) or 4D \\(batched\\) image "
                                         "input in channels_last format. Received: "
                                         "inputs.shape=\\(None, 4"):
        IMAGE_LAYERS[name]()(keras.Input(shape))
    assert IMAGE_LAYERS[name]()(keras.Input((4, 4, 3))).shape[-1] == 3


@pytest.mark.parametrize("functional", [True, False])
def test_einsum_dense_on_an_input_of_another_rank_than_its_equation(functional):
    # tf_keras: ValueError "Shape must be rank 2 but is rank 3 for 0th input and equation:
    # ab,bc->ac" (minikeras built a (None, 2, 4) output from it, NumPy failed at predict)
    inputs = keras.Input((4, 4)) if functional else np.ones((2, 4, 4), "float32")
    with pytest.raises(ValueError, match="Shape must be rank 2 but is rank 3 for 0th input and "
                                         "equation: ab,bc->ac"):
        keras.layers.EinsumDense("ab,bc->ac", (2,))(inputs)
    assert keras.layers.EinsumDense("...b,bc->...c", (2,))(inputs).shape[1:] == (4, 2)


@pytest.mark.parametrize("make_layer,shape", [
    (lambda: keras.layers.Conv1D(2, 2), (4, 0)),
    (lambda: keras.layers.Conv2D(2, 2), (4, 4, 0)),
    (lambda: keras.layers.SeparableConv2D(2, 2), (4, 4, 0)),
], ids=["Conv1D", "Conv2D", "SeparableConv2D"])
@pytest.mark.parametrize("functional", [True, False])
def test_convolution_of_an_input_without_channels(make_layer, shape, functional):
    # tf_keras: "Depth of filter must not be 0" (ValueError while building, InvalidArgumentError
    # eagerly); minikeras built the model, and NumPy failed eagerly: "cannot reshape array of
    # size 0 into shape (1,0,newaxis)"
    inputs = keras.Input(shape) if functional else np.ones((2,) + shape, "float32")
    with pytest.raises(ValueError, match="Depth of filter must not be 0"):
        make_layer()(inputs)


@pytest.mark.parametrize("make_layer", [lambda: keras.layers.LSTM(2), lambda: keras.layers.GRU(2),
                                        lambda: keras.layers.SimpleRNN(2)],
                         ids=["LSTM", "GRU", "SimpleRNN"])
def test_recurrent_layers_over_zero_timesteps_while_building(make_layer):
    # tf_keras: ValueError "slice index 0 of dimension 0 out of bounds" while building (eagerly,
    # minikeras already refused in these words)
    with pytest.raises(ValueError, match="over a sequence of 0 timesteps"):
        make_layer()(keras.Input((0, 3)))


# --- a full disk during saves -------------------------------------------------------------------
_SAVE_WITH_A_FULL_DISK = """
import resource, signal, sys
import numpy as np
import minikeras as keras
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # writes past the limit fail with EFBIG
model = keras.Sequential([keras.Input((100,)), keras.layers.Dense(100), keras.layers.Dense(2)])
model.compile("adam", "mse")
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
for path in sys.argv[1:]:
    try:
        (model.save_weights if "/w" in path else model.save)(path)
        print("saved", path)
    except OSError as error:
        print("OSError", path)
"""


def test_saves_onto_a_full_disk_keep_the_old_files(tmp_path):
    """RLIMIT_FSIZE in a child stands for a full disk: each save fails with an OSError, the
    file it would have replaced is intact and no temporary file is left (tf_keras 2.21 leaves
    an unreadable .h5 / .keras file in this case), and the process exits cleanly (HDF5 kept
    the failed file's objects open and the child died of SIGSEGV at exit)."""
    import subprocess
    import sys
    old = keras.Sequential([keras.Input((100,)), keras.layers.Dense(100), keras.layers.Dense(2)])
    old.compile("adam", "mse")
    paths = [str(tmp_path / name) for name in ("m.keras", "m.h5", "w.weights.h5", "w.h5")]
    for path in paths:
        save(old, path)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=repo)
    result = subprocess.run([sys.executable, "-c", _SAVE_WITH_A_FULL_DISK] + paths,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:-1] == [f"OSError {path}" for path in paths], result.stderr
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in paths)
    for path in paths:
        if os.path.basename(path).startswith("w"):
            loaded = keras.Sequential([keras.Input((100,)), keras.layers.Dense(100),
                                       keras.layers.Dense(2)])
            loaded.load_weights(path)
        else:
            loaded = keras.models.load_model(path)
        for saved, read in zip(old.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(saved, read)
