"""Train the local sentiment model: ``python -m feedback_ops.enrich.train [--force]``.

Writes ``sentiment-logreg-<fingerprint>.npz`` under the settings' ``models_dir`` and prints its 5-fold
cross-validated accuracy. Without ``--force`` an existing artifact for the same training data is kept. The
enricher trains automatically on first use, so running this is only needed to train ahead of time.
"""

from __future__ import annotations

import argparse
import time

from feedback_ops.config import get_settings
from feedback_ops.embed.local import LocalEmbedder
from feedback_ops.enrich.sentiment import artifact_path, load_or_train, train_sentiment_model


def main(argv: list[str] | None = None) -> int:
    """Train (or reuse) the sentiment model and report it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="retrain even if the artifact exists")
    args = parser.parse_args(argv)
    settings = get_settings()
    embedder = LocalEmbedder()
    started = time.perf_counter()
    if args.force:
        model = train_sentiment_model(settings.training_dir, embedder)
        model.save(artifact_path(settings.models_dir, model.fingerprint))
    else:
        model = load_or_train(settings.training_dir, settings.models_dir, embedder)
    print(
        f"sentiment model {model.version}: {model.n_train} sentences, "
        f"{model.cv_accuracy:.3f} 5-fold CV accuracy, {time.perf_counter() - started:.1f} s -> "
        f"{artifact_path(settings.models_dir, model.fingerprint)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
