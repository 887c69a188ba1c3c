"""The digits CNN trained data-parallel over MPI (needs `pip install "minikeras[mpi]"`):

    mpirun -n 2 python examples/mpi_digits_cnn.py

Three lines differ from the single-process script: `dist.init()`, the optimizer wrapped in
`DistributedOptimizer`, and the broadcast (plus metric-averaging) callbacks. `batch_size` is per
rank: on 2 ranks each step trains on 2 x 32 samples.
"""
import minikeras as keras
import minikeras.distribute as dist
from minikeras import layers

dist.init()
keras.utils.set_random_seed(1)
(x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
x_train = x_train.reshape(-1, 8, 8, 1).astype("float32") / 16.0
x_test = x_test.reshape(-1, 8, 8, 1).astype("float32") / 16.0
y_train = keras.utils.to_categorical(y_train, 10)
y_test = keras.utils.to_categorical(y_test, 10)

model = keras.Sequential([
    layers.Conv2D(16, 3, activation="relu", padding="same", input_shape=(8, 8, 1)),
    layers.MaxPooling2D(2),
    layers.Conv2D(32, 3, activation="relu", padding="same"),
    layers.Flatten(),
    layers.Dense(10, activation="softmax"),
])
optimizer = dist.DistributedOptimizer(keras.optimizers.Adam(1e-3 * dist.size()))
model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=15, verbose=2,
          callbacks=[dist.BroadcastGlobalVariablesCallback(0), dist.MetricAverageCallback()])
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
if dist.is_chief():
    print(f"{dist.size()} ranks: test accuracy {accuracy:.4f}")
