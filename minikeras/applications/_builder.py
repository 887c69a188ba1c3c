"""The parts every application constructor shares: argument checks, the image input, the
pooling / classifier top, the model and its weights."""
import os

from .. import layers
from ..core import config
from ..engine.keras_tensor import KerasTensor
from ..engine.tf_op_layer import TFOpLambda
from ..models import Model
from . import imagenet_utils, weight_files


def weights_are_valid(weights):
    """None, 'imagenet', or the path of an existing weights file."""
    return (weights is None or weights == "imagenet"
            or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights)))


def check_weights_and_classes(weights, include_top, classes):
    if not weights_are_valid(weights):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), `imagenet` (pre-training on ImageNet), or the path to "
                         f"the weights file to be loaded.  Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError('If using `weights` as `"imagenet"` with `include_top` as true, '
                         f"`classes` should be 1000.  Received `classes={classes}`")


def check_pooling(pooling):
    """tf.keras ignores an unknown `pooling`; we refuse it rather than drop it silently."""
    if pooling not in {None, "avg", "max"}:
        raise ValueError("The `pooling` argument should be one of None, 'avg' or 'max'. "
                         f"Received: pooling={pooling}")


def check_no_extra_kwargs(kwargs):
    if kwargs:
        raise ValueError(f"Unknown argument(s): {kwargs}")


def image_input(input_tensor, input_shape):
    """The model's input: a new Input, or the given symbolic tensor."""
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not isinstance(input_tensor, KerasTensor):
        # tf.keras wraps a concrete tf.Tensor in an Input; here there is no graph to hold it.
        raise NotImplementedError(
            "`input_tensor` must be a Keras symbolic tensor (the output of `keras.Input` or of a "
            f"layer called on one). Received: input_tensor of type {type(input_tensor).__name__}")
    return input_tensor


def source_inputs(tensor):
    """The Input tensors a KerasTensor was computed from (tf.keras' get_source_inputs)."""
    node = tensor.node
    if node.is_input:
        return [tensor]
    found = []
    for parent in node.input_tensors:
        for source in source_inputs(parent):
            if not any(source is seen for seen in found):
                found.append(source)
    return found


def model_inputs(input_tensor, img_input):
    if input_tensor is None:
        return img_input
    if is_keras2_graph_tensor(input_tensor):
        # Keras 2 graph mode (neural_doodle's `VGG19(input_tensor=K.concatenate([...]))`): the
        # tensor is no layer output there, so the model starts at an InputLayer holding it and
        # `model.layers` is [input, block1_conv1, ...] without the backend ops before it.
        return input_tensor
    return source_inputs(input_tensor)


def is_keras2_graph_tensor(tensor):
    """Whether `tensor` was computed by backend ops alone (TFOpLambda layers) from
    `K.placeholder`s: in a Keras 2 graph a plain tf.Tensor, not a Keras tensor."""
    node = tensor.node
    if node.is_input:
        return False
    pending, seen = [tensor], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        layer = current.node.layer
        if current.node.is_input:
            if not getattr(layer, "_keras2_placeholder", False):
                return False
        elif not isinstance(layer, TFOpLambda):
            return False
        else:
            pending.extend(current.node.input_tensors)
    return True


def data_format():
    return config.image_data_format()


def channel_axis():
    return 3 if config.image_data_format() == "channels_last" else 1


def classifier(x, classes, classifier_activation, weights):
    """The top most applications share: global average pooling 'avg_pool', Dense 'predictions'."""
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    imagenet_utils.validate_activation(classifier_activation, weights)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)


def global_pooling(x, pooling, avg_name=None, max_name=None):
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def finish(inputs, outputs, name, weights, imagenet_file=None, origin=None, file_hash=None):
    """The Model, with its weights: a file path, or the published ImageNet file by name."""
    model = Model(inputs, outputs, name=name)
    if weights == "imagenet" and imagenet_file is not None:
        path = weight_files.fetch(imagenet_file, origin,
                                  what=f"the ImageNet weights of {name}", file_hash=file_hash)
        model.load_weights(path)
    elif weights is not None and weights != "imagenet":
        model.load_weights(weights)
    return model
