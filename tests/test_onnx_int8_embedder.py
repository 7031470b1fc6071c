"""The int8 ONNX Runtime embedder: built offline from the package's weights, close to the float32 model,
its own version, selected by settings for the embed stage and the local enrichment models alike."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from feedback_ops.config import Settings
from feedback_ops.embed import Embedder
from feedback_ops.embed.factory import make_embedder, make_local_embedder
from feedback_ops.embed.local import DIMENSIONS, LocalEmbedder
from feedback_ops.embed.onnx_int8 import OnnxInt8Embedder, model_file

SENTENCES = [
    "The app crashes every time I open the camera.",
    "I was charged twice for the same order and want my money back.",
    "Delivery was fast and the support agent was lovely.",
    "How do I change the e-mail address on my account?",
    "Checkout keeps failing since the last update. " * 40,
    "ok",
]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def onnx_embedder(models_dir: Path) -> OnnxInt8Embedder:
    return OnnxInt8Embedder(models_dir, batch_size=4)


def test_model_file_is_built_once_under_models_dir(onnx_embedder: OnnxInt8Embedder, models_dir: Path) -> None:
    path = model_file(models_dir)
    assert not path.exists()
    onnx_embedder.embed(["first use builds the int8 model"])
    assert path.exists() and path == onnx_embedder.model_path
    assert 10e6 < path.stat().st_size < 40e6  # int8 weights: about a quarter of the 90 MB float32 model
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    built_at = path.stat().st_mtime_ns
    OnnxInt8Embedder(models_dir).embed(["a second embedder reuses the file"])
    assert path.stat().st_mtime_ns == built_at


def test_vectors_are_unit_norm_and_close_to_float32(onnx_embedder: OnnxInt8Embedder) -> None:
    vectors = onnx_embedder.embed(SENTENCES)
    assert vectors.shape == (len(SENTENCES), DIMENSIONS) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    fp32 = LocalEmbedder(precision="fp32").embed(SENTENCES)
    assert float(np.min(np.sum(vectors * fp32, axis=1))) > 0.95
    assert float(np.mean(np.sum(vectors * fp32, axis=1))) > 0.98


def test_meaning_drives_distance_and_batching_does_not(onnx_embedder: OnnxInt8Embedder) -> None:
    checkout, payment, weather = onnx_embedder.embed(
        [
            "Checkout failed when I tried to pay.",
            "The payment never went through at checkout.",
            "It is sunny and warm at the beach today.",
        ]
    )
    assert float(checkout @ payment) > float(checkout @ weather) + 0.3
    alone = np.vstack([onnx_embedder.embed([text]) for text in SENTENCES])
    together = OnnxInt8Embedder(onnx_embedder.model_path.parents[1], batch_size=64, workers=1).embed(
        SENTENCES
    )
    # Activations are quantized per batch (one scale for every token of the batch, padding included): batch
    # mates move a vector, a short text among long ones most ("ok": cosine 0.956 here). Unlike torch, whose
    # vectors depend on the batch only through rounding (> 0.9999).
    cosines = np.sum(alone * together, axis=1)
    assert float(np.min(cosines)) > 0.93
    assert float(np.median(cosines)) > 0.99


def test_identity_and_empty_input(onnx_embedder: OnnxInt8Embedder) -> None:
    assert isinstance(onnx_embedder, Embedder)
    assert onnx_embedder.model_name == "all-MiniLM-L6-v2"
    assert onnx_embedder.version == "all-MiniLM-L6-v2@gt-0.1.0+t128-onnx-int8"
    assert onnx_embedder.version != LocalEmbedder().version  # stored vectors are re-embedded on a switch
    assert onnx_embedder.embed([]).shape == (0, DIMENSIONS)


def test_settings_pick_the_local_runtime(tmp_path: Path) -> None:
    settings = dataclasses.replace(Settings(), models_dir=tmp_path)
    assert isinstance(make_embedder(settings), LocalEmbedder)
    assert not isinstance(make_embedder(settings), OnnxInt8Embedder)
    onnx = dataclasses.replace(settings, local_embedder="onnx-int8")
    chosen = make_embedder(onnx)
    assert isinstance(chosen, OnnxInt8Embedder) and chosen.model_path.parent == tmp_path / "onnx"

    from feedback_ops.enrich.local import LocalEnricher

    enricher = LocalEnricher(onnx)
    assert enricher.embedder.version == chosen.version  # the enricher's vectors serve the embed stage as-is
    assert chosen.version in enricher.model_version
    with pytest.raises(ValueError, match="local embedder"):
        make_local_embedder(dataclasses.replace(settings, local_embedder="tensorrt"))


def test_from_env_reads_the_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_OPS_LOCAL_EMBEDDER", "onnx-int8")
    assert Settings.from_env().local_embedder == "onnx-int8"
    monkeypatch.delenv("FEEDBACK_OPS_LOCAL_EMBEDDER")
    assert Settings.from_env().local_embedder == "torch"
