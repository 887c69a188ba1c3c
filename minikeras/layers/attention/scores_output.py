"""Shared by the attention layers: `return_attention_scores=True` adds a second output."""


class ScoresOutput:
    """Mixin (before `Layer`): with `return_attention_scores=True` the symbolic outputs, two of
    them, take their shapes from running the call on placeholders; otherwise from
    `compute_output_shape`."""

    def _infer_outputs(self, args, kwargs):
        if kwargs.get("return_attention_scores"):
            return self._infer_by_running(args, kwargs)
        return super()._infer_outputs(args, kwargs)
