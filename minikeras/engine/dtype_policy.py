"""The dtype policy object of `keras.mixed_precision` (here so that layers can return theirs)."""
import numpy as np

MIXED_POLICIES = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


class Policy:
    """A dtype policy: the dtype a layer computes in and the dtype of its variables.

    Example:

        policy = keras.mixed_precision.Policy("float32")
        policy.compute_dtype, policy.variable_dtype      # ('float32', 'float32')
    """

    def __init__(self, name):
        if isinstance(name, Policy):
            name = name.name
        if not isinstance(name, str):
            raise TypeError(f"'name' must be a string, but got: {name!r}")
        if name == "_infer":
            raise ValueError("Policy '_infer' is not supported by minikeras.")
        if name in MIXED_POLICIES:
            compute, variable = MIXED_POLICIES[name], "float32"
        elif name in ("bfloat16", "string"):    # no NumPy dtype of that name
            compute = variable = name
        else:
            try:
                compute = variable = np.dtype(name).name
            except TypeError:
                raise ValueError(f"Cannot convert value {name} to a mixed precision Policy. "
                                 "Valid policies include 'mixed_float16', 'mixed_bfloat16', and "
                                 "the name of any dtype such as 'float32'.") from None
        self._name = name
        self._compute_dtype = compute
        self._variable_dtype = variable

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute_dtype

    @property
    def variable_dtype(self):
        return self._variable_dtype

    def __repr__(self):
        return f'<Policy "{self._name}">'

    def __eq__(self, other):
        return isinstance(other, Policy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(config["name"])
