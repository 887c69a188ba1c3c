"""Facts about Keras 3.15's operation classes (recorded from Keras 3.15 with
peer_recipes/fid2/keras3_op_signatures.py): the `keras.src.ops` module of each and the
arguments its constructor takes, which Keras 3 keeps in the operation's config of a
`.keras` file (the node's `args` hold the others)."""

# keras.src.ops.<module> of each operation class
OPERATION_MODULES = {
    "core": ("AssociativeScan", "Cast", "Cond", "ConvertToTensor", "ForiLoop", "Map",
        "SaturateCast", "Scan", "Scatter", "ScatterUpdate", "Slice", "SliceUpdate", "StopGradient",
        "Switch", "Unstack", "VectorizedMap", "WhileLoop"),
    "image": ("AffineTransform", "CropImages", "ElasticTransform", "ExtractPatches",
        "GaussianBlur", "HSVToRGB", "MapCoordinates", "PadImages", "PerspectiveTransform",
        "RGBToGrayscale", "RGBToHSV", "Resize", "SSIM", "ScaleAndTranslate", "SobelEdges"),
    "linalg": ("Cholesky", "CholeskyInverse", "Det", "Eig", "Eigh", "Inv", "JVP", "Lstsq",
        "LuFactor", "MatrixRank", "Norm", "Pinv", "Qr", "SVD", "Solve", "SolveTriangular"),
    "math": ("CDist", "Erf", "Erfc", "Erfinv", "ExtractSequences", "FFT", "FFT2", "IFFT2", "IRFFT",
        "ISTFT", "InTopK", "Logdet", "Logsumexp", "RFFT", "Rsqrt", "STFT", "SegmentMax",
        "SegmentMin", "SegmentProd", "SegmentReduction", "SegmentSum", "TopK", "ViewAsComplex",
        "ViewAsReal"),
    "nn": ("AdaptiveAveragePool", "AdaptiveMaxPool", "AveragePool", "BatchNorm",
        "BinaryCrossentropy", "CTCDecode", "CTCLoss", "CategoricalCrossentropy", "Celu", "Conv",
        "ConvTranspose", "DepthToSpace", "DepthwiseConv", "DotProductAttention", "Elu", "Fold",
        "Gelu", "Glu", "HardShrink", "HardSigmoid", "HardSilu", "HardTanh", "LayerNorm",
        "LeakyRelu", "LogSigmoid", "LogSoftmax", "MaxPool", "Moments", "MultiHot", "Normalize",
        "OneHot", "PSNR", "Polar", "RMSNorm", "Relu", "Relu6", "Selu", "SeparableConv", "Sigmoid",
        "Silu", "SoftShrink", "Softmax", "Softplus", "Softsign", "SpaceToDepth",
        "SparseCategoricalCrossentropy", "SparsePlus", "SparseSigmoid", "Sparsemax", "Squareplus",
        "TanhShrink", "Threshold", "Unfold"),
    "numpy": ("Abs", "Absolute", "Add", "All", "AllClose", "Amax", "Amin", "Angle", "Any",
        "Append", "Arange", "Arccos", "Arccosh", "Arcsin", "Arcsinh", "Arctan", "Arctan2",
        "Arctanh", "Argmax", "Argmin", "Argpartition", "Argsort", "Array", "ArraySplit", "Average",
        "Bincount", "BitwiseAnd", "BitwiseInvert", "BitwiseLeftShift", "BitwiseNot", "BitwiseOr",
        "BitwiseRightShift", "BitwiseXor", "BroadcastTo", "Cbrt", "Ceil", "Clip", "Concatenate",
        "Conj", "Conjugate", "Copy", "Corrcoef", "Correlate", "Cos", "Cosh", "CountNonzero",
        "Cross", "Cumprod", "Cumsum", "Deg2rad", "Diag", "Diagflat", "Diagonal", "Diff",
        "Digitize", "Divide", "DivideNoNan", "Dot", "Dsplit", "Dstack", "Einsum", "EmptyLike",
        "Equal", "Exp", "Exp2", "ExpandDims", "Expm1", "Fabs", "Flip", "Fliplr", "Flipud", "Floor",
        "FloorDivide", "Fmax", "Fmin", "Fmod", "Full", "FullLike", "Gcd", "Geomspace", "GetItem",
        "Greater", "GreaterEqual", "Heaviside", "Histogram", "Hsplit", "Hstack", "Hypot", "I0",
        "Imag", "Inner", "IsIn", "Isclose", "Isfinite", "Isinf", "Isnan", "Isneginf", "Isposinf",
        "Isreal", "Kron", "Lcm", "Ldexp", "LeftShift", "Less", "LessEqual", "Linspace", "Log",
        "Log10", "Log1p", "Log2", "Logaddexp", "Logaddexp2", "LogicalAnd", "LogicalNot",
        "LogicalOr", "LogicalXor", "Logspace", "Matmul", "Max", "Maximum", "Mean", "Median",
        "Meshgrid", "Min", "Minimum", "Mod", "Moveaxis", "Multiply", "NanToNum", "Nanargmax",
        "Nanargmin", "Nancumprod", "Nancumsum", "Nanmax", "Nanmean", "Nanmedian", "Nanmin",
        "Nanpercentile", "Nanprod", "Nanquantile", "Nanstd", "Nansum", "Nanvar", "Ndim",
        "Negative", "Nextafter", "Nonzero", "NotEqual", "OnesLike", "Outer", "Pad", "Percentile",
        "Power", "Prod", "Ptp", "Quantile", "Rad2deg", "Ravel", "Real", "Reciprocal", "Repeat",
        "Reshape", "RightShift", "Roll", "Rot90", "Round", "SearchSorted", "Select", "Sign",
        "Signbit", "Sin", "Sinc", "Sinh", "Size", "Slogdet", "Sort", "Split", "Sqrt", "Square",
        "Squeeze", "Stack", "Std", "Subtract", "Sum", "Swapaxes", "Take", "TakeAlongAxis", "Tan",
        "Tanh", "Tensordot", "Tile", "Trace", "Transpose", "Trapezoid", "Tril", "Triu",
        "TrueDivide", "Trunc", "Unique", "UnravelIndex", "Vander", "Var", "Vdot", "View", "Vsplit",
        "Vstack", "Where", "ZerosLike"),
}

# constructor arguments (in order) of the operation classes that take any
OPERATION_CONFIG_ARGUMENTS = {
    "AdaptiveAveragePool": ("output_size", "data_format"), "AdaptiveMaxPool": ("output_size",
    "data_format"), "AffineTransform": ("interpolation", "fill_mode", "fill_value", "data_format"),
    "All": ("axis", "keepdims"), "AllClose": ("rtol", "atol", "equal_nan"), "Amax": ("axis",
    "keepdims"), "Amin": ("axis", "keepdims"), "Any": ("axis", "keepdims"), "Append": ("axis",),
    "Arange": ("dtype",), "Argmax": ("axis", "keepdims"), "Argmin": ("axis", "keepdims"),
    "Argpartition": ("kth", "axis"), "Argsort": ("axis",), "Array": ("dtype",), "ArraySplit":
    ("indices_or_sections", "axis"), "AssociativeScan": ("reverse", "axis"), "Average": ("axis",),
    "AveragePool": ("pool_size", "strides", "padding", "data_format"), "BatchNorm": ("axis",
    "epsilon"), "BinaryCrossentropy": ("from_logits",), "Bincount": ("weights", "minlength",
    "sparse"), "BroadcastTo": ("shape",), "CTCDecode": ("strategy", "beam_width", "top_paths",
    "merge_repeated", "mask_index"), "CTCLoss": ("mask_index",), "Cast": ("dtype",),
    "CategoricalCrossentropy": ("from_logits", "axis"), "Celu": ("alpha",), "Cholesky": ("upper",),
    "CholeskyInverse": ("upper",), "Clip": ("x_min", "x_max"), "Concatenate": ("axis",), "Conv":
    ("strides", "padding", "data_format", "dilation_rate"), "ConvTranspose": ("strides", "padding",
    "output_padding", "data_format", "dilation_rate"), "ConvertToTensor": ("dtype", "sparse",
    "ragged"), "Correlate": ("mode",), "CountNonzero": ("axis",), "CropImages": ("top_cropping",
    "left_cropping", "bottom_cropping", "right_cropping", "target_height", "target_width",
    "data_format"), "Cross": ("axisa", "axisb", "axisc", "axis"), "Cumprod": ("axis", "dtype"),
    "Cumsum": ("axis", "dtype"), "DepthToSpace": ("block_size", "data_format"), "DepthwiseConv":
    ("strides", "padding", "data_format", "dilation_rate"), "Diag": ("k",), "Diagflat": ("k",),
    "Diagonal": ("offset", "axis1", "axis2"), "Diff": ("n", "axis"), "DotProductAttention":
    ("is_causal", "flash_attention", "attn_logits_soft_cap"), "Dsplit": ("indices_or_sections",),
    "Einsum": ("subscripts",), "ElasticTransform": ("alpha", "sigma", "interpolation", "fill_mode",
    "fill_value", "seed", "data_format"), "Elu": ("alpha",), "EmptyLike": ("dtype",), "ExpandDims":
    ("axis",), "ExtractPatches": ("size", "strides", "dilation_rate", "padding", "data_format"),
    "ExtractSequences": ("sequence_length", "sequence_stride"), "Flip": ("axis",), "Fold":
    ("output_size", "kernel_size", "dilation", "padding", "stride"), "ForiLoop": ("lower", "upper",
    "body_fun"), "Full": ("shape", "dtype"), "FullLike": ("dtype",), "GaussianBlur":
    ("kernel_size", "sigma", "data_format"), "Gelu": ("approximate",), "Geomspace": ("num",
    "endpoint", "dtype", "axis"), "Glu": ("axis",), "HSVToRGB": ("data_format",), "HardShrink":
    ("threshold",), "Histogram": ("bins", "range"), "Hsplit": ("indices_or_sections",), "IRFFT":
    ("fft_length",), "ISTFT": ("sequence_length", "sequence_stride", "fft_length", "length",
    "window", "center"), "InTopK": ("k",), "IsIn": ("assume_unique", "invert"), "Isclose":
    ("equal_nan",), "JVP": ("has_aux",), "LayerNorm": ("axis", "epsilon", "rms_scaling"),
    "LeakyRelu": ("negative_slope",), "Linspace": ("num", "endpoint", "retstep", "dtype", "axis"),
    "LogSoftmax": ("axis",), "Logspace": ("num", "endpoint", "base", "dtype", "axis"), "Logsumexp":
    ("axis", "keepdims"), "Lstsq": ("rcond",), "MapCoordinates": ("order", "fill_mode",
    "fill_value"), "MatrixRank": ("tol",), "Max": ("axis", "keepdims", "initial"), "MaxPool":
    ("pool_size", "strides", "padding", "data_format"), "Mean": ("axis", "keepdims"), "Median":
    ("axis", "keepdims"), "Meshgrid": ("indexing",), "Min": ("axis", "keepdims", "initial"),
    "Moments": ("axes", "keepdims", "synchronized"), "Moveaxis": ("source", "destination"),
    "MultiHot": ("num_classes", "axis", "dtype", "sparse"), "NanToNum": ("nan", "posinf",
    "neginf"), "Nanargmax": ("axis", "keepdims"), "Nanargmin": ("axis", "keepdims"), "Nancumprod":
    ("axis", "dtype"), "Nancumsum": ("axis", "dtype"), "Nanmax": ("axis", "keepdims"), "Nanmean":
    ("axis", "keepdims"), "Nanmedian": ("axis", "keepdims"), "Nanmin": ("axis", "keepdims"),
    "Nanpercentile": ("axis", "method", "keepdims"), "Nanprod": ("axis", "keepdims"),
    "Nanquantile": ("axis", "method", "keepdims"), "Nanstd": ("axis", "keepdims"), "Nansum":
    ("axis", "keepdims"), "Nanvar": ("axis", "keepdims"), "Norm": ("ord", "axis", "keepdims"),
    "Normalize": ("axis", "order", "epsilon"), "OneHot": ("num_classes", "axis", "dtype",
    "sparse"), "OnesLike": ("dtype",), "PSNR": ("max_val",), "Pad": ("pad_width", "mode"),
    "PadImages": ("top_padding", "left_padding", "bottom_padding", "right_padding",
    "target_height", "target_width", "data_format"), "Percentile": ("axis", "method", "keepdims"),
    "PerspectiveTransform": ("interpolation", "fill_value", "data_format"), "Pinv": ("rcond",),
    "Prod": ("axis", "keepdims", "dtype"), "Ptp": ("axis", "keepdims"), "Qr": ("mode",),
    "Quantile": ("axis", "method", "keepdims"), "RFFT": ("fft_length",), "RGBToGrayscale":
    ("data_format",), "RGBToHSV": ("data_format",), "RMSNorm": ("axis", "epsilon"), "Repeat":
    ("repeats", "axis"), "Reshape": ("newshape",), "Resize": ("size", "interpolation", "antialias",
    "crop_to_aspect_ratio", "pad_to_aspect_ratio", "fill_mode", "fill_value", "data_format"),
    "Roll": ("shift", "axis"), "Rot90": ("k", "axes"), "Round": ("decimals",), "SSIM": ("max_val",
    "filter_size", "filter_sigma", "k1", "k2", "data_format"), "STFT": ("sequence_length",
    "sequence_stride", "fft_length", "window", "center"), "SVD": ("full_matrices", "compute_uv"),
    "SaturateCast": ("dtype",), "ScaleAndTranslate": ("spatial_dims", "method", "antialias"),
    "Scan": ("length", "reverse", "unroll"), "Scatter": ("shape",), "ScatterUpdate":
    ("reduction",), "SearchSorted": ("side",), "SegmentMax": ("num_segments", "sorted"),
    "SegmentMin": ("num_segments", "sorted"), "SegmentProd": ("num_segments", "sorted"),
    "SegmentReduction": ("num_segments", "sorted"), "SegmentSum": ("num_segments", "sorted"),
    "SeparableConv": ("strides", "padding", "data_format", "dilation_rate"), "Slice": ("shape",),
    "SobelEdges": ("data_format",), "SoftShrink": ("threshold",), "Softmax": ("axis",),
    "SolveTriangular": ("lower",), "Sort": ("axis",), "SpaceToDepth": ("block_size",
    "data_format"), "SparseCategoricalCrossentropy": ("from_logits", "axis"), "Sparsemax":
    ("axis",), "Split": ("indices_or_sections", "axis"), "Squareplus": ("b",), "Squeeze":
    ("axis",), "Stack": ("axis",), "Std": ("axis", "keepdims"), "Sum": ("axis", "keepdims"),
    "Swapaxes": ("axis1", "axis2"), "Take": ("axis",), "TakeAlongAxis": ("axis",), "Tensordot":
    ("axes",), "Threshold": ("threshold", "default_value"), "Tile": ("repeats",), "TopK": ("k",
    "sorted"), "Trace": ("offset", "axis1", "axis2"), "Transpose": ("axes",), "Trapezoid": ("x",
    "dx", "axis"), "Tril": ("k",), "Triu": ("k",), "Unfold": ("kernel_size", "dilation", "padding",
    "stride"), "Unique": ("sorted", "return_index", "return_inverse", "return_counts", "axis",
    "size", "fill_value"), "UnravelIndex": ("shape",), "Unstack": ("num", "axis"), "Vander": ("N",
    "increasing"), "Var": ("axis", "keepdims"), "VectorizedMap": ("function",), "View": ("dtype",),
    "Vsplit": ("indices_or_sections",), "WhileLoop": ("cond", "body", "maximum_iterations"),
    "ZerosLike": ("dtype",)
}
