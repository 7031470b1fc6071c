"""The load generator: reproducible, realistic in mix and rhythm, with the defects it claims - and the pipeline
loads what it writes with every row accounted for."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import datetime

from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.ingest.parsing import parse_file
from feedback_ops.synthetic.load_generator import CHANNEL_MIX, LoadGenerator
from feedback_ops.transform.dbt_runner import run_dbt
from feedback_ops.warehouse import open_warehouse


def _rows(folder):
    rows = []
    for path in sorted(folder.iterdir()):
        fmt = {".csv": "csv", ".jsonl": "jsonl"}.get(path.suffix)
        if fmt:
            rows += [json.loads(r.payload) for r in parse_file(path, fmt) if not r.parse_error]
    return rows


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path):
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    LoadGenerator(400, days=4, seed=3).generate(first)
    LoadGenerator(400, days=4, seed=3).generate(second)
    LoadGenerator(400, days=4, seed=4).generate(other)
    files = sorted(p.name for p in first.iterdir())
    assert files == sorted(p.name for p in second.iterdir())
    assert all((first / name).read_bytes() == (second / name).read_bytes() for name in files)
    assert any((first / n).read_bytes() != (other / n).read_bytes() for n in files if (other / n).exists())


def test_mix_rhythm_lengths_defects_and_incidents_are_what_the_manifest_says(tmp_path):
    manifest = LoadGenerator(6000, days=14, seed=11).generate(tmp_path)
    rows = _rows(tmp_path)
    assert len(rows) == manifest.records + manifest.duplicates
    by_id = Counter(str(r["source_record_id"]) for r in rows)
    assert sum(n - 1 for n in by_id.values()) == manifest.duplicates
    assert sum(1 for r in rows if not str(r.get("text") or "").strip()) > 0
    assert sum(1 for r in rows if r["channel"] not in CHANNEL_MIX) > 0
    valid = [r for r in rows if r["channel"] in CHANNEL_MIX and str(r.get("text") or "").strip()]
    shares = Counter(r["channel"] for r in valid)
    for channel, share in CHANNEL_MIX.items():
        assert abs(shares[channel] / len(valid) - share) < 0.04, channel
    # texts are varied, not copied: almost every record's text is unique
    assert len({r["text"] for r in valid}) > 0.97 * len({r["source_record_id"] for r in valid})
    # transcripts are speaker turns and the longest records; nights are quieter than afternoons
    transcripts = [r["text"] for r in valid if r["channel"] == "call_transcript"]
    assert all(t.startswith("Agent: ") and "\nCustomer: " in t for t in transcripts)
    mean = {c: sum(len(r["text"]) for r in valid if r["channel"] == c) / shares[c] for c in shares}
    assert max(mean, key=mean.get) in ("call_transcript", "support_ticket")
    hours = Counter(int(str(r["created_at"])[11:13]) for r in valid if "T" in str(r["created_at"]))
    assert hours[15] > 4 * hours[3]
    # the planted incident: its records fall inside its window, in its product area
    incident = manifest.incidents[0]
    start = datetime.fromisoformat(str(incident["start"]))
    planted = [r for r in rows if "-inc0-" in str(r["source_record_id"])]
    assert (
        len({r["source_record_id"] for r in planted}) == incident["records"]
    )  # duplicates are exported twice
    assert {r["product_area"] for r in planted} == {incident["product_area"]}
    for record in planted:
        moment = datetime.fromisoformat(str(record["created_at"]).replace("Z", "+00:00"))
        assert 0 <= (moment - start).total_seconds() < incident["hours"] * 3600


def test_the_pipeline_loads_every_generated_row_and_reconciles(tmp_path, settings):
    landing = tmp_path / "generated"
    manifest = LoadGenerator(800, days=5, seed=5).generate(landing)
    (landing / "generator_manifest.json").unlink()  # not an export
    generated = dataclasses.replace(settings, landing_dir=landing)
    with open_warehouse(generated) as warehouse:
        load_landing_to_bronze(warehouse, generated)
    run_dbt("build", generated, select="tag:silver")
    with open_warehouse(generated) as warehouse:
        bronze = warehouse.scalar("select count(*) from bronze.feedback_raw")
        silver = warehouse.scalar("select count(*) from silver.int_feedback_deduplicated")
        quarantined = warehouse.scalar("select count(*) from silver.int_feedback_quarantined")
        duplicates = warehouse.scalar("select count(*) from silver.int_feedback_duplicates")
    assert bronze == manifest.records + manifest.duplicates
    assert bronze == silver + quarantined + duplicates
    assert quarantined >= manifest.malformed and duplicates >= manifest.duplicates
