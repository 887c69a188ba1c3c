"""Connectionist temporal classification: the loss with its gradient (alpha-beta recursion),
greedy and prefix-beam-search decoding. Keras 3's `ctc_loss` / `ctc_decode` (logits, any blank
index) here; Keras 2's `K.ctc_batch_cost` / `K.ctc_decode` (softmax outputs, last class
blank) in `backend/nn_functions.py` use the same kernels."""
import numpy as np

from ..core.tensor import Tensor, record
from .numpy_ops import as_float, data_of


def _log_sum_exp(a, b):
    high = np.maximum(a, b)
    with np.errstate(invalid="ignore"):
        result = high + np.log1p(np.exp(-np.abs(a - b)))
    return np.where(np.isneginf(high), -np.inf, result)


def ctc_negative_log_likelihood(log_probs, label, blank):
    """Negative log-likelihood of `label` under (time, classes) log-softmax `log_probs`, and
    its gradient with respect to the logits (alpha-beta recursion, merged repeats)."""
    steps = log_probs.shape[0]
    extended = np.full(2 * len(label) + 1, blank, np.int64)
    extended[1::2] = label
    size = len(extended)
    skip = np.zeros(size, bool)
    skip[2:] = (extended[2:] != blank) & (extended[2:] != extended[:-2])
    emissions = log_probs[:, extended]                      # (time, size)
    alpha = np.full((steps, size), -np.inf)
    alpha[0, 0] = emissions[0, 0]
    if size > 1:
        alpha[0, 1] = emissions[0, 1]
    for t in range(1, steps):
        total = alpha[t - 1].copy()
        total[1:] = _log_sum_exp(total[1:], alpha[t - 1, :-1])
        total[2:] = np.where(skip[2:], _log_sum_exp(total[2:], alpha[t - 1, :-2]), total[2:])
        alpha[t] = total + emissions[t]
    beta = np.full((steps, size), -np.inf)
    beta[-1, -1] = emissions[-1, -1]
    if size > 1:
        beta[-1, -2] = emissions[-1, -2]
    skip_back = np.zeros(size, bool)
    skip_back[:-2] = skip[2:]
    for t in range(steps - 2, -1, -1):
        total = beta[t + 1].copy()
        total[:-1] = _log_sum_exp(total[:-1], beta[t + 1, 1:])
        total[:-2] = np.where(skip_back[:-2], _log_sum_exp(total[:-2], beta[t + 1, 2:]),
                              total[:-2])
        beta[t] = total + emissions[t]
    log_likelihood = _log_sum_exp(alpha[-1, -1], alpha[-1, -2]) if size > 1 else alpha[-1, -1]
    occupancy = alpha + beta - emissions                      # log(alpha*beta/y)
    grad = np.exp(log_probs)                                  # softmax
    per_class = np.full(log_probs.shape, -np.inf)
    for s in range(size):
        per_class[:, extended[s]] = _log_sum_exp(per_class[:, extended[s]], occupancy[:, s])
    grad = grad - np.exp(per_class - log_likelihood)
    return -log_likelihood, grad


def dense_paths(paths, steps):
    """`(batch, steps)` int64 labels, -1 after each path (tf.keras' dense shape)."""
    dense = np.full((len(paths), steps), -1, np.int64)
    for row, path in enumerate(paths):
        dense[row, :len(path)] = path
    return dense


def beam_search(log_probs, blank, beam_width, top_paths):
    """CTC prefix beam search: `[(labels, log_probability), ...]` best first."""
    beams = {(): (0.0, -np.inf)}              # prefix -> (log P ending in blank, not blank)
    for step in log_probs:
        candidates = {}

        def add(prefix, blank_score, label_score):
            old_blank, old_label = candidates.get(prefix, (-np.inf, -np.inf))
            candidates[prefix] = (np.logaddexp(old_blank, blank_score),
                                  np.logaddexp(old_label, label_score))
        for prefix, (p_blank, p_label) in beams.items():
            total = np.logaddexp(p_blank, p_label)
            add(prefix, total + step[blank], -np.inf)
            for c in range(len(step)):
                if c == blank:
                    continue
                extended = prefix + (c,)
                if prefix and prefix[-1] == c:
                    add(extended, -np.inf, p_blank + step[c])
                    add(prefix, -np.inf, p_label + step[c])
                else:
                    add(extended, -np.inf, total + step[c])
        ranked = sorted(candidates.items(), key=lambda item: -np.logaddexp(*item[1]))
        beams = dict(ranked[:beam_width])
    ranked = sorted(beams.items(), key=lambda item: -np.logaddexp(*item[1]))[:top_paths]
    return [(list(prefix), float(np.logaddexp(*scores))) for prefix, scores in ranked]


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Per-sample CTC loss of `output` logits `(batch, time, classes)` for the labels
    `target` `(batch, max_length)` (lengths `target_length`), over the first `output_length`
    steps, `mask_index` the blank class."""
    logits = as_float(output)
    dtype = logits.dtype
    values = logits.data.astype(np.float64)
    labels = np.asarray(data_of(target)).astype(np.int64)
    label_lengths = np.asarray(data_of(target_length)).reshape(-1).astype(int)
    steps = np.asarray(data_of(output_length)).reshape(-1).astype(int)
    blank = mask_index % values.shape[-1]
    losses = np.zeros(values.shape[0])
    grads = np.zeros(values.shape)
    for b in range(values.shape[0]):
        losses[b], grads[b, :steps[b]] = ctc_negative_log_likelihood(
            _log_softmax(values[b, :steps[b]]), labels[b, :label_lengths[b]], blank)

    def backward(g, needs):
        return None, (grads * np.asarray(g, np.float64)[:, None, None]).astype(dtype)
    return record(losses.astype(dtype), (target, logits), backward)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """`(decoded, scores)`: decoded labels `(top_paths, batch, time)` int32 padded with -1.
    Greedy: the best class per step (repeats merged when `merge_repeated`, blanks dropped),
    score minus the sum of the best logits per step. "beam_search": prefix beam search over
    the log-softmax, scores the paths' log-probabilities."""
    if strategy not in ("greedy", "beam_search"):
        raise ValueError(f"Invalid strategy {strategy}. Supported values are 'greedy' and "
                         "'beam_search'.")
    logits = as_float(inputs)
    values = logits.data
    lengths = np.asarray(data_of(sequence_lengths)).reshape(-1).astype(int)
    batch, steps, classes = values.shape
    blank = mask_index % classes
    if strategy == "greedy":
        paths, scores = [], np.zeros((batch, 1), values.dtype)
        for b in range(batch):
            best = values[b, :lengths[b]].argmax(axis=-1)
            scores[b, 0] = -values[b, :lengths[b]].max(axis=-1).sum(dtype=values.dtype)
            if merge_repeated:
                best = [c for i, c in enumerate(best) if i == 0 or c != best[i - 1]]
            paths.append([int(c) for c in best if c != blank])
        decoded = dense_paths(paths, steps)[None]
    else:
        normalized = _log_softmax(values.astype(np.float64))
        results = [beam_search(normalized[b, :lengths[b]], blank, beam_width, top_paths)
                   for b in range(batch)]
        decoded = np.stack([dense_paths([results[b][k][0] for b in range(batch)], steps)
                            for k in range(top_paths)])
        scores = np.array([[score for _, score in results[b]] for b in range(batch)],
                          values.dtype)
    return Tensor(decoded.astype(np.int32)), Tensor(scores)
