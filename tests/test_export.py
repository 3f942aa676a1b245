"""ONNX export and ONNX Runtime prediction: the exported graph gives the same top class on
every real face and logits within 1e-3 of PyTorch, for every shipped checkpoint and every
network ``build_model`` makes; the command line refuses what it cannot do in one line."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from deep_emotion.catalog import list_checkpoints
from deep_emotion.checkpoints import load_checkpoint
from deep_emotion.export import export_checkpoint, export_onnx
from deep_emotion.faces import read_faces
from deep_emotion.model import BACKBONES, INPUT_NORMS, LAYOUTS, build_model
from deep_emotion.predict import predict_proba
from deep_emotion.preprocess import DEFAULT_PREPROCESSING
from deep_emotion.runtime import OnnxNetwork, accelerate, onnx_cache_path

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
skimage_data = pytest.importorskip("skimage.data")

MAX_LOGIT_DIFFERENCE = 1e-3


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    """uint8 (N, 48, 48) real faces from public-domain photos that ship with scikit-image
    (astronaut Eileen Collins, the cameraman), each as found, mirrored, darkened and with
    raised contrast: varied inputs without any dataset image."""
    crops = []
    for photo in (skimage_data.astronaut(), np.repeat(skimage_data.camera()[..., None], 3, 2)):
        for variant in (photo, photo[:, ::-1], (photo * 0.6).astype(np.uint8),
                        np.clip((photo.astype(np.float32) - 128) * 1.4 + 128, 0, 255)
                        .astype(np.uint8)):
            crops.extend(_crops(variant))
    assert len(crops) >= 6, "the sample photos give faces"
    return torch.from_numpy(np.stack(crops))


def _png(rgb: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, "PNG")
    return buf.getvalue()


def _crops(rgb: np.ndarray) -> list[np.ndarray]:
    return list(read_faces(_png(rgb), size=48).crops)


def _session(graph: bytes):
    return ort.InferenceSession(graph, providers=["CPUExecutionProvider"])


def _assert_parity(network, graph: bytes, x: torch.Tensor) -> None:
    logits, theta = _session(graph).run(None, {"faces": x.numpy()})
    with torch.no_grad():
        expected = network.eval().attend(x)
    assert np.array_equal(logits.argmax(1), expected.logits.argmax(1).numpy()), "same top class"
    assert np.abs(logits - expected.logits.numpy()).max() < MAX_LOGIT_DIFFERENCE
    assert np.abs(theta - expected.theta.numpy()).max() < MAX_LOGIT_DIFFERENCE


@pytest.mark.slow
@pytest.mark.parametrize("name", list_checkpoints())
def test_every_shipped_checkpoint_exports_with_the_same_predictions(name, faces, tmp_path):
    ckpt = load_checkpoint(name)
    out = export_checkpoint(ckpt, tmp_path / f"{name}.onnx")
    graph = out.read_bytes()
    _assert_parity(ckpt.model, graph, ckpt.preprocessing.to_input(faces))
    meta = {p.key: p.value for p in onnx.load_from_string(graph).metadata_props}
    assert json.loads(meta["classes"]) == list(ckpt.classes)
    assert json.loads(meta["preprocessing"]) == ckpt.card["preprocessing"]
    assert meta["weights_sha256"] == ckpt.card["weights_sha256"]


CONFIGS = [dict(backbone=b, layout="input_warp") for b in BACKBONES] + [
    dict(layout=layout, use_stn=stn, input_norm=norm)
    for layout, stn, norm in itertools.product(LAYOUTS, (True, False), INPUT_NORMS)] + [
    dict(padding_mode="border", dropout=0.3, channels=16, hidden=64, num_classes=8)]


@pytest.mark.parametrize("overrides", CONFIGS,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_every_network_build_model_makes_exports_with_the_same_outputs(overrides, faces):
    torch.manual_seed(0)
    network = build_model(**overrides)
    if network.config.use_stn:  # off the identity, so the warp does something
        network.fc_loc[-1].bias.data += 0.05 * torch.randn(6)
    graph = export_onnx(network.train(), network.config.image_size)
    assert network.training, "the network's own mode is restored"
    _assert_parity(network, graph, DEFAULT_PREPROCESSING.to_input(faces))


def test_the_graph_takes_any_batch_size(random_checkpoint, faces):
    ckpt = load_checkpoint(random_checkpoint)
    session = _session(export_onnx(ckpt.model, 48))
    for n in (1, 5, 256):
        x = ckpt.preprocessing.to_input(faces[torch.arange(n) % len(faces)])
        assert session.run(["logits"], {"faces": x.numpy()})[0].shape == (n, 7)


def test_onnx_runtime_predicts_behind_the_same_api(random_checkpoint, faces):
    ckpt = load_checkpoint(random_checkpoint)
    fast = accelerate(ckpt)
    assert isinstance(fast.model, OnnxNetwork) and fast.classes == ckpt.classes
    assert onnx_cache_path(ckpt.model).is_file(), "the graph is cached for the next run"
    expected = predict_proba(ckpt.model, faces, ckpt.preprocessing)
    got = predict_proba(fast.model, faces, ckpt.preprocessing, tta="flip")
    assert torch.equal(got.argmax(1), predict_proba(ckpt.model, faces, ckpt.preprocessing,
                                                    tta="flip").argmax(1))
    assert torch.allclose(predict_proba(fast.model, faces, ckpt.preprocessing), expected,
                          atol=1e-5)
    x = ckpt.preprocessing.to_input(faces[:2]).requires_grad_()
    fast.model(x)[0, 0].backward()  # gradients are PyTorch's: the graph hands them over
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert accelerate(ckpt, "torch") is ckpt


def test_the_batch_table_is_the_same_under_either_runtime(random_checkpoint, tmp_path):
    import csv

    photo = tmp_path / "astronaut.png"
    photo.write_bytes(_png(skimage_data.astronaut()))
    tables = {}
    for runtime in ("onnxruntime", "torch"):
        out = tmp_path / f"{runtime}.csv"
        result = _cli("predict", photo, "--checkpoint", random_checkpoint, "--out", out,
                      "--runtime", runtime, "--quiet")
        assert result.returncode == 0, result.stderr
        with out.open(newline="") as f:
            tables[runtime] = list(csv.DictReader(f))
    fast, plain = tables["onnxruntime"], tables["torch"]
    assert len(fast) == len(plain) == 1
    assert [r["prediction"] for r in fast] == [r["prediction"] for r in plain]
    for a, b in zip(fast, plain):
        probs = [k for k in a if k.startswith("p_")]
        assert max(abs(float(a[k]) - float(b[k])) for k in probs) <= 2e-6


def test_export_on_the_command_line(random_checkpoint, tmp_path, faces):
    out = tmp_path / "model.onnx"
    result = _cli("export", "--checkpoint", random_checkpoint, "--format", "onnx", "--out", out,
                  "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["outputs"] == {"logits": ["batch", 7], "theta": ["batch", 2, 3]}
    _assert_parity(load_checkpoint(random_checkpoint).model, out.read_bytes(),
                   DEFAULT_PREPROCESSING.to_input(faces))


@pytest.mark.parametrize("args, message", [
    (["--format", "tflite"], "export format 'tflite' is not supported; use one of onnx"),
    (["--checkpoint", "no_such_network"], "no checkpoint 'no_such_network'"),
    (["--out", "/proc/no_such_folder/m.onnx"], "cannot be written"),
])
def test_bad_export_requests_are_one_line_and_exit_2(random_checkpoint, tmp_path, args, message):
    result = _cli("export", "--checkpoint", random_checkpoint, "--out", tmp_path / "m.onnx", *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert not (tmp_path / "m.onnx").exists()


def test_a_damaged_checkpoint_is_refused_before_export(random_checkpoint, tmp_path):
    weights = random_checkpoint.with_suffix(".safetensors")
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    result = _cli("export", "--checkpoint", random_checkpoint, "--out", tmp_path / "m.onnx")
    assert result.returncode == 2 and "sha256 differs" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.realdata
def test_the_default_network_agrees_with_its_graph_on_real_dataset_faces(data_root, tmp_path):
    from deep_emotion.catalog import DEFAULT_CHECKPOINT
    from deep_emotion.data import load_dataset

    ckpt = load_checkpoint(DEFAULT_CHECKPOINT)
    dataset = load_dataset(ckpt.card["dataset"]["name"], data_root)
    x = ckpt.preprocessing.to_input(dataset.images[:2048])
    _assert_parity(ckpt.model, export_checkpoint(ckpt, tmp_path / "m.onnx").read_bytes(), x)


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deep_emotion.cli", *map(str, args)],
                          capture_output=True, text=True)
