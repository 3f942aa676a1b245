"""ONNX Runtime behind the network API that prediction uses, for the batch and video paths.

``predict_proba`` calls ``model(x)`` on a batch of normalised faces.  ``OnnxNetwork`` is a
module that answers that call with the network's ONNX graph (``deep_emotion.export``) run by
ONNX Runtime, which ran a batch of 256 faces three to four times faster than PyTorch on a
shared two-core CPU (``bench/onnx_runtime.py`` measures it), and hands everything else
(gradients, training mode, another device, ``attend``'s warped view) to the PyTorch network
it wraps, so callers see one API.  ``tests/test_export.py`` holds the two to the same top
class and logits within 1e-3 on real faces.

The graph is exported once per network and cached under the dataset cache folder
(``$DEEP_EMOTION_CACHE``), keyed by the weights, the config and the exporter, so a second
run pays nothing.  ONNX Runtime is an optional dependency (``pip install .[onnx]``); without
it ``accelerate`` returns the checkpoint unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from deep_emotion.checkpoints import Checkpoint
from deep_emotion.export import INPUT_NAME, ONNX_OPSET, export_onnx

__all__ = ["RUNTIMES", "OnnxNetwork", "accelerate", "onnx_cache_path"]

RUNTIMES = ("onnxruntime", "torch")


class OnnxNetwork(nn.Module):
    """A network whose inference runs in ONNX Runtime: (B, 1, S, S) -> (B, C) logits.

    Args:
        network: the PyTorch network the graph was exported from; it stays a submodule, so
            ``parameters()``, ``config``, ``eval()`` and the fallback below keep working.
        graph: the serialised ONNX model of ``network`` (``export.export_onnx``).

    One ONNX Runtime session per torch thread count, so a caller that limits torch to one
    thread (``video.timeline.one_thread``) limits the graph too.
    """

    def __init__(self, network: nn.Module, graph: bytes) -> None:
        super().__init__()
        self.network = network
        self.config = network.config
        self._graph = graph
        self._sessions: dict[int, object] = {}
        self._guard = threading.Lock()

    def _session(self):
        import onnxruntime as ort

        threads = torch.get_num_threads()
        with self._guard:
            if threads not in self._sessions:
                options = ort.SessionOptions()
                options.intra_op_num_threads = threads
                self._sessions[threads] = ort.InferenceSession(
                    self._graph, options, providers=["CPUExecutionProvider"])
            return self._sessions[threads]

    def _torch_only(self, x: torch.Tensor) -> bool:
        """Work the graph cannot do: training, gradients, or a tensor on an accelerator."""
        return self.training or x.device.type != "cpu" or (
            torch.is_grad_enabled() and x.requires_grad)

    def _run(self, x: torch.Tensor) -> list[np.ndarray]:
        feed = {INPUT_NAME: x.detach().float().contiguous().numpy()}
        return self._session().run(None, feed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._torch_only(x):
            return self.network(x)
        return torch.from_numpy(self._run(x)[0])

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        """The transformer's affine matrices (B, 2, 3) for ``x``, as ``DeepEmotion.theta``."""
        if self._torch_only(x):
            return self.network.theta(x)
        return torch.from_numpy(self._run(x)[1])

    def attend(self, x: torch.Tensor):
        """``DeepEmotion.attend`` (its warped view is not in the graph, so PyTorch runs it)."""
        return self.network.attend(x)


def onnx_cache_path(network: nn.Module) -> Path:
    """Where the graph of ``network`` is cached: named by a hash of its weights, its config,
    the torch version and the opset, so any change exports afresh."""
    from deep_emotion.data.base import cache_dir

    h = hashlib.sha256(json.dumps([network.config.to_dict(), torch.__version__, ONNX_OPSET],
                                  sort_keys=True).encode())
    for key, value in network.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return cache_dir() / "onnx" / f"{h.hexdigest()[:32]}.onnx"


def _graph(network: nn.Module) -> bytes:
    path = onnx_cache_path(network)
    if path.is_file():
        return path.read_bytes()
    graph = export_onnx(network, network.config.image_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(graph)
    tmp.replace(path)  # atomic: parallel processes (torchrun) never read half a file
    return graph


def accelerate(checkpoint: Checkpoint, runtime: str = "onnxruntime") -> Checkpoint:
    """``checkpoint`` with its predicting network run by ``runtime`` (one of ``RUNTIMES``).

    With ``"torch"``, or when ONNX Runtime is not installed, the checkpoint comes back as it
    is.  A network the exporter cannot write falls back to PyTorch with a warning: the
    runtime changes speed, never results.

    Raises:
        ValueError: an unknown runtime.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
    if runtime == "torch":
        return checkpoint
    try:
        import onnxruntime  # noqa: F401  (optional dependency)
    except ImportError:
        return checkpoint
    try:
        fast = OnnxNetwork(checkpoint.model, _graph(checkpoint.model))
    except Exception as e:  # noqa: BLE001  (any exporter failure: PyTorch still answers)
        warnings.warn(f"{checkpoint.name}: ONNX export failed ({e}); running PyTorch")
        return checkpoint
    return dataclasses.replace(checkpoint, models=[fast, *checkpoint.models[1:]])
