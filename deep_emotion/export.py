"""A checkpoint's network as an ONNX graph, spatial transformer included.

The graph takes what ``Preprocessing.to_input`` gives, float32 (B, 1, S, S) normalised faces
with any batch size B, and returns the network's ``attend`` outputs that do not depend on its
layout: ``logits`` (B, C) and the transformer's ``theta`` (B, 2, 3).  It is traced through
``DeepEmotion.attend``, the method every backbone and layout implements, so a new feature
branch exports with no change here; the parity tests run every configuration ``build_model``
accepts.  The file carries the card's class names and preprocessing as metadata, so it can be
used without the card.

The TorchScript exporter is used rather than the ``torch.export`` one: on this network it
writes the graph 4-10 times faster (0.2-0.8 s against 1.4-4.2 s) and ONNX Runtime ran the
residual backbone's graph 3.8 times faster from it (the paper network's equally fast), with
the same logits to 1e-6 (measured on a shared two-core CPU; ``bench/onnx_runtime.py`` times
the run).
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from deep_emotion.checkpoints import Checkpoint

__all__ = ["EXPORT_FORMATS", "INPUT_NAME", "OUTPUT_NAMES", "ONNX_OPSET", "export_onnx",
           "export_checkpoint"]

EXPORT_FORMATS = ("onnx",)
INPUT_NAME, OUTPUT_NAMES = "faces", ("logits", "theta")
# GridSample is an ONNX operator from opset 16, AffineGrid from opset 20: the warp needs both.
ONNX_OPSET = 20


class _Attending(nn.Module):
    """``network.attend`` with the outputs every layout shares, as a tuple the exporter takes."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.network.attend(x)
        return out.logits, out.theta


def export_onnx(network: nn.Module, image_size: int,
                metadata: dict[str, str] | None = None) -> bytes:
    """The ONNX model of ``network`` (a ``DeepEmotion`` of any backbone), in eval mode.

    Args:
        network: read only; exported in eval mode (batch norm statistics, no dropout), its
            own mode restored afterwards.
        image_size: side S of the square input.
        metadata: strings stored in the model's ``metadata_props``.

    Returns:
        The serialised model: input ``faces`` float32 (B, 1, S, S), outputs ``logits``
        (B, C) and ``theta`` (B, 2, 3), B free.
    """
    was_training = network.training
    wrapper = _Attending(network).eval()  # the wrapper's mode is what the exporter records
    example = torch.zeros(2, 1, image_size, image_size)
    axes = dict.fromkeys([INPUT_NAME, *OUTPUT_NAMES], {0: "batch"})  # B is free
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():  # the exporter's notice that a newer one exists
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapper, (example,), buf, input_names=[INPUT_NAME],
                              output_names=list(OUTPUT_NAMES), opset_version=ONNX_OPSET,
                              dynamic_axes=axes, dynamo=False)
    finally:
        network.train(was_training)
    if not metadata:
        return buf.getvalue()
    import onnx

    model = onnx.load_from_string(buf.getvalue())
    onnx.helper.set_model_props(model, metadata)
    return model.SerializeToString()


def export_checkpoint(checkpoint: Checkpoint, out: str | Path, fmt: str = "onnx") -> Path:
    """Write ``checkpoint.model`` (fold 0 of a cross-validated checkpoint, the network that
    predicts) to ``out`` in ``fmt``; the card's name, classes, preprocessing and weights hash
    go into the file's metadata.

    Raises:
        ValueError: ``fmt`` is not one of ``EXPORT_FORMATS``.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format {fmt!r} is not supported; use one of "
                         f"{', '.join(EXPORT_FORMATS)}")
    card = checkpoint.card
    metadata = {"checkpoint": checkpoint.name, "classes": json.dumps(list(checkpoint.classes)),
                "preprocessing": json.dumps(card["preprocessing"]),
                "weights_sha256": str(card.get("weights_sha256", ""))}
    data = export_onnx(checkpoint.model, checkpoint.preprocessing.size, metadata)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out
