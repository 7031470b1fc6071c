"""Semantic memory: analysis units, incremental unit embedding, the active-index switch on a model change,
``ask`` (parsing, retrieval, grouping, citations; model-written answers checked against the evidence) and
emerging themes - on the real pipeline stages, the real local embedder and the embedded index."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from feedback_ops import pipeline
from feedback_ops.embed.local import LocalEmbedder
from feedback_ops.enrich.versions import current_enrichment_version
from feedback_ops.ingest.bronze import load_landing_to_bronze
from feedback_ops.search.ask import ask, parse_question
from feedback_ops.search.embedded import EmbeddedIndex, active_index_path, read_active_pointer
from feedback_ops.search.units import split_units
from feedback_ops.transform.dbt_runner import run_dbt
from feedback_ops.warehouse import open_warehouse

TRANSCRIPT = (
    "Agent: Thanks for calling, how can I help?\n"
    "Customer: The checkout page fails with error 500 every time I pay.\n"
    "It has happened three times today.\n"
    "Agent: I am sorry, I will raise it with the payments team."
)
EXTRA_RECORDS = [
    {
        "source_record_id": "CALL-1",
        "channel": "call_transcript",
        "text": TRANSCRIPT,
        "created_at": "2026-11-18T12:30:00Z",
        "locale": "en-US",
        "product_area": "checkout",
    },
    {
        "source_record_id": "REV-1",
        "channel": "review",
        "text": "Delivery was two weeks late. The box arrived crushed and the charger was missing. "
        "Support never replied to my emails.",
        "created_at": "2026-11-18T13:00:00Z",
        "locale": "en-US",
        "product_area": "delivery",
    },
    {
        "source_record_id": "REV-2",
        "channel": "review",
        "text": "Checkout failed again with an error when paying by card. I gave up and bought elsewhere.",
        "created_at": "2026-11-18T14:00:00Z",
        "locale": "en-US",
        "product_area": "checkout",
    },
]


# --- analysis units -------------------------------------------------------------------------------------


def test_a_review_is_split_into_sentences_with_spans_into_the_redacted_text():
    text = "I was charged twice for order [ORDER_ID]. Mr. Smith promised a refund by Nov. 3! Nothing has arrived yet."
    units = split_units("fb1", text, "review")
    assert [u.unit_id for u in units] == ["fb1:0", "fb1:1", "fb1:2", "fb1:3"]
    assert units[0].unit_kind == "message" and units[0].text == text
    assert [u.text for u in units[1:]] == [
        "I was charged twice for order [ORDER_ID].",
        "Mr. Smith promised a refund by Nov. 3!",
        "Nothing has arrived yet.",
    ]
    for unit in units:
        assert text[unit.char_start : unit.char_end] == unit.text
        assert unit.feedback_id == "fb1"


def test_a_transcript_is_split_into_speaker_turns_and_a_one_claim_message_is_one_unit():
    units = split_units("call", TRANSCRIPT, "call_transcript")
    assert [(u.unit_kind, u.speaker) for u in units[1:]] == [
        ("turn", "Agent"),
        ("turn", "Customer"),
        ("turn", "Agent"),
    ]
    assert units[2].text.endswith("three times today.")  # the continuation line belongs to the turn
    collapsed = split_units(
        "flat", " ".join(TRANSCRIPT.split()), "call_transcript"
    )  # line breaks lost upstream
    assert [(u.speaker, u.text) for u in collapsed[1:]] == [
        (u.speaker, " ".join(u.text.split())) for u in units[1:]
    ]
    assert [u.unit_id for u in split_units("short", "Great app, love it", "app_store")] == ["short:0"]
    # fragments are not claims: "Thanks." joins the sentence before it
    merged = split_units("m", "The refund never arrived. Thanks. The app also crashes at login.", "review")
    assert [u.text for u in merged[1:]] == [
        "The refund never arrived. Thanks.",
        "The app also crashes at login.",
    ]


# --- questions ------------------------------------------------------------------------------------------


def test_parse_question_reads_window_and_filters():
    anchor = datetime(2026, 11, 20, 12, 0)
    parsed = parse_question(
        "What are the top causes of checkout complaints in the last 48 hours?",
        anchor,
        product_areas=("checkout", "delivery"),
        categories=("bug", "billing", "other"),
    )
    assert (parsed.window_start, parsed.window_end) == (datetime(2026, 11, 18, 12, 0), anchor)
    assert parsed.filters == {"product_area": "checkout", "sentiment_label": "negative"}
    assert "48 hours" not in parsed.search_text and "checkout" in parsed.search_text
    since = parse_question(
        "billing issues in app store reviews since 2026-11-15", anchor, categories=("billing",)
    )
    assert since.window_start == datetime(2026, 11, 15) and since.window_end is None
    assert since.filters == {"category": "billing", "channel": "app_store", "sentiment_label": "negative"}
    yesterday = parse_question("urgent tickets yesterday", anchor)
    assert (yesterday.window_start, yesterday.window_end) == (datetime(2026, 11, 19), datetime(2026, 11, 20))
    assert yesterday.filters == {"urgency": ["high", "critical"], "channel": "support_ticket"}


# --- the pipeline stages --------------------------------------------------------------------------------


@pytest.fixture
def indexed(settings, fixture_landing):
    """The fixture landing area plus a transcript and multi-sentence reviews, run through embed_and_index."""
    with (fixture_landing / "calls_and_reviews.jsonl").open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(record) + "\n" for record in EXTRA_RECORDS)
    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
    run_dbt("build", settings, select="tag:silver")
    pipeline.enrich(settings)
    first = pipeline.embed_and_index(settings)
    return settings, first


def _units(settings):
    with open_warehouse(settings) as warehouse:
        return warehouse.query_df(
            "select u.unit_id, u.unit_kind, u.speaker, u.text, s.source_record_id from enrichment.feedback_units u "
            "join silver.int_feedback_deduplicated s using (feedback_id) order by u.unit_id"
        )


def test_units_are_embedded_once_indexed_and_reconciled(indexed):
    settings, first = indexed
    units = _units(settings)
    call = units[units["source_record_id"] == "CALL-1"]
    assert sorted(call["unit_kind"]) == ["message", "turn", "turn", "turn"]
    assert "[EMAIL]" in " ".join(units["text"]) and "jane.doe@example.com" not in " ".join(units["text"])
    assert first["messages_split"] == units["unit_id"].str.split(":").str[0].nunique()
    # whole messages were embedded by the enrichment stage (the local models need their vectors): only the
    # claims are embedded here
    claims = int((units["unit_kind"] != "message").sum())
    assert first["embedded"] == claims > 0
    assert first["index_count"] == first["expected_count"] == len(units)
    assert read_active_pointer(settings.index_dir)["embedding_version"] == LocalEmbedder().version

    second = pipeline.embed_and_index(settings)
    assert (second["messages_split"], second["embedded"], second["upserted"]) == (0, 0, 0)
    assert second["index_count"] == len(units)


def test_a_new_embedding_version_is_built_beside_the_active_index_and_switched_to(
    cpu_bf16, indexed, monkeypatch
):
    settings, first = indexed
    old_file = active_index_path(settings.index_dir)
    from feedback_ops.search.reindex import reindex

    # the same configuration on a CPU of the other kind (auto resolves the other way) is the same version
    monkeypatch.setattr("feedback_ops.embed.local.native_bf16", lambda: not cpu_bf16)
    moved = reindex(settings, embedder=LocalEmbedder())
    assert (moved.rebuilt, moved.embedded, moved.stale_partitions) == (False, 0, [])
    assert active_index_path(settings.index_dir) == old_file

    other = LocalEmbedder(precision="bf16" if cpu_bf16 else "fp32")  # what auto resolved to, set explicitly
    assert other.precision == ("bf16" if cpu_bf16 else "fp32")
    assert other.version != LocalEmbedder().version
    stats = reindex(settings, embedder=other)
    assert stats.rebuilt and stats.previous_embedding_version == LocalEmbedder().version
    assert stats.embedded == first["index_count"] and stats.stale_partitions == ["2026-11"]  # every unit
    new_file = active_index_path(settings.index_dir)
    assert new_file != old_file and new_file.exists() and not old_file.exists()
    index = EmbeddedIndex(new_file, dimensions=other.dimensions)
    try:
        assert index.count() == first["index_count"]
        hit = index.query("checkout error", other.embed(["checkout error"])[0], top=1)[0]
        assert hit.metadata["embedding_version"] == other.version
    finally:
        index.close()
    again = reindex(settings, embedder=other)
    assert (again.rebuilt, again.embedded, again.stale_partitions) == (False, 0, [])


def test_ask_answers_with_counts_and_citations_from_the_evidence(indexed):
    settings, _ = indexed
    answer = ask(
        "What are the top causes of checkout complaints in the last 48 hours?",
        settings,
        now=datetime(2026, 11, 19, 0, 0),
    )
    assert answer.mode == "extractive"
    assert answer.question.filters == {"product_area": "checkout", "sentiment_label": "negative"}
    assert answer.groups, answer.render()
    units = _units(settings)
    by_feedback = {row.unit_id.split(":")[0]: row.source_record_id for row in units.itertuples()}
    cited_records = {by_feedback[i] for i in answer.citations}
    assert cited_records <= {"T-1", "REV-2", "CALL-1"}  # checkout, negative, inside the window
    assert set(answer.citations) <= set(answer.evidence_ids)
    assert sum(g.feedback_count for g in answer.groups) == len(answer.evidence_ids)
    assert "jane.doe@example.com" not in answer.render()


def test_ask_says_so_when_the_window_holds_nothing(indexed):
    settings, _ = indexed
    answer = ask("checkout complaints in the last 2 hours", settings, now=datetime(2026, 11, 18, 8, 0))
    assert any("no matching feedback in the window" in note for note in answer.notes)


# --- model-written answers ------------------------------------------------------------------------------


def test_a_model_answer_citing_ids_outside_the_evidence_is_rejected(indexed):
    from fakes.azure_openai_server import FakeAzureOpenAI, Fault
    from feedback_ops.config import LanguageModelSettings
    from feedback_ops.search.answerer import LanguageModelAnswerer

    settings, _ = indexed
    question = "What are the top causes of checkout complaints in the last 48 hours?"
    with FakeAzureOpenAI() as fake:
        import dataclasses

        cloud = dataclasses.replace(
            settings,
            enrichment_backend="azure_openai",
            llm=LanguageModelSettings(endpoint=fake.endpoint, api_key=fake.api_key, max_attempts=0),
        )
        answerer = LanguageModelAnswerer(cloud)
        good = ask(question, settings, answerer=answerer, now=datetime(2026, 11, 19))
        assert good.mode == "language_model"
        assert good.citations and set(good.citations) <= set(good.evidence_ids)
        sent = fake.requests[-1].user_message
        assert "jane.doe@example.com" not in sent and good.groups[0].label in sent

        fake.inject(Fault("bad_label"), Fault("bad_label"))
        rejected = ask(question, settings, answerer=answerer, now=datetime(2026, 11, 19))
        assert rejected.mode == "extractive"
        assert any("fb_invented_0000" in note for note in rejected.notes)


# --- emerging themes ------------------------------------------------------------------------------------


def test_a_growing_cluster_of_uncovered_feedback_is_an_emerging_theme(tmp_path):
    """Real vectors of real sentences; rows written straight into the tables the detection reads."""
    import pandas as pd

    from feedback_ops.search.emerging import find_emerging_themes, store_emerging_themes
    from feedback_ops.warehouse.duckdb_warehouse import DuckDBWarehouse

    loyalty = [
        "My loyalty points disappeared after the last update.",
        "The loyalty points balance shows zero even though I had 4000 points.",
        "Where did my loyalty points go? They vanished overnight.",
        "Loyalty points are missing from my account since Monday.",
        "I lost all my loyalty points, please restore them.",
        "The app shows the wrong loyalty points balance.",
    ]
    steady = ["Can I change the font size in the app?", "Is there a dark mode for the web version?"]
    rows = [(f"new{i}", text, datetime(2026, 11, 20, 9 + i)) for i, text in enumerate(loyalty)]
    rows += [("old0", "My loyalty points disappeared again.", datetime(2026, 11, 10))]
    rows += [(f"steady{i}", text, datetime(2026, 11, 10 + 9 * i)) for i, text in enumerate(steady)]
    embedder = LocalEmbedder()
    vectors = embedder.embed([text for _, text, _ in rows])
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.ensure_schema()
    warehouse.execute("create schema if not exists silver")
    warehouse.execute(
        "create table silver.int_feedback_deduplicated as select * from "
        "(values ('x', timestamp '2026-11-01', timestamp '2026-11-01')) t(feedback_id, created_at, ingested_at) "
        "where false"
    )
    loaded_at = datetime(
        2026, 11, 21
    )  # every record loaded after it was written: data time is its created_at
    for (feedback_id, text, created_at), vector in zip(rows, vectors, strict=True):
        warehouse.execute(
            "insert into silver.int_feedback_deduplicated values (?, ?, ?)",
            [feedback_id, created_at, loaded_at],
        )
        warehouse.append(
            "enrichment.feedback_enrichment",
            pd.DataFrame(
                [
                    {
                        "feedback_id": feedback_id,
                        "enrichment_version": "v1",
                        "text_hash": f"h{feedback_id}",
                        "redacted_text": text,
                        "category": "other",
                        "confidence": 0.3,
                    }
                ]
            ),
        )
        unit = split_units(feedback_id, text, "review")[0]
        warehouse.append(
            "enrichment.feedback_units",
            pd.DataFrame(
                [
                    {
                        "unit_id": unit.unit_id,
                        "feedback_id": feedback_id,
                        "unit_index": 0,
                        "unit_kind": "message",
                        "text": text,
                        "text_hash": unit.text_hash,
                        "char_start": 0,
                        "char_end": len(text),
                        "source_text_hash": f"h{feedback_id}",
                        "splitter_version": "units-1",
                        "created_at": created_at,
                    }
                ]
            ),
        )
        warehouse.append(
            "enrichment.embeddings",
            pd.DataFrame(
                [
                    {
                        "unit_id": unit.unit_id,
                        "feedback_id": feedback_id,
                        "text_hash": unit.text_hash,
                        "embedding_model": "m",
                        "embedding_version": "e1",
                        "vector": [float(x) for x in vector],
                    }
                ]
            ),
        )
    found = find_emerging_themes(warehouse, "v1", "e1")
    assert found.window_end == datetime(2026, 11, 20, 14) and found.candidates == len(rows)
    assert len(found.themes) == 1, found.as_dict()
    theme = found.themes[0]
    assert "loyalty points" in theme.label
    assert (theme.recent_count, theme.previous_count, theme.growth) == (6, 1, 3.5)
    assert set(theme.feedback_ids) == {f"new{i}" for i in range(6)} | {"old0"}
    assert {q["feedback_id"] for q in theme.representative_quotes} <= set(theme.feedback_ids)
    assert store_emerging_themes(warehouse, found, "v1", "e1") == 1
    assert store_emerging_themes(warehouse, found, "v1", "e1") == 1  # a re-run replaces its own rows
    assert warehouse.scalar("select count(*) from enrichment.emerging_themes") == 1
    warehouse.close()


def test_an_old_fixed_length_vector_column_is_widened_and_keeps_its_vectors(tmp_path):
    """Warehouses created before cloud embedders stored float[384]; any length is stored now."""
    import pandas as pd

    from feedback_ops.warehouse.duckdb_warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse(tmp_path / "old.duckdb")
    warehouse.execute("create schema enrichment")
    warehouse.execute(
        "create table enrichment.embeddings (unit_id varchar not null, feedback_id varchar not null, "
        "text_hash varchar not null, embedding_model varchar not null, embedding_version varchar not null, "
        "vector float[384], embedded_at timestamp, primary key (unit_id, embedding_version))"
    )
    warehouse.execute(
        "insert into enrichment.embeddings values ('a:0', 'a', 'h', 'm', 'v1', ?, null)", [[0.5] * 384]
    )
    warehouse.ensure_schema()
    row = {"unit_id": "a:0", "feedback_id": "a", "text_hash": "h", "embedding_model": "cloud"}
    warehouse.append(
        "enrichment.embeddings", pd.DataFrame([{**row, "embedding_version": "v2", "vector": [0.1] * 256}])
    )
    lengths = warehouse.query_df(
        "select embedding_version, len(vector) as n from enrichment.embeddings order by embedding_version"
    )
    assert lengths.values.tolist() == [["v1", 384], ["v2", 256]]
    warehouse.close()


def test_a_question_embeds_each_distinct_text_once():
    """Relevance filtering and grouping look at the same hits: the second look reuses the first's vectors."""
    from feedback_ops.search.ask import _MemoEmbedder

    calls: list[list[str]] = []

    class CountingEmbedder(LocalEmbedder):
        def embed(self, texts):
            calls.append(list(texts))
            return super().embed(texts)

    memo = _MemoEmbedder(CountingEmbedder())
    first = memo.embed(["card declined", "parcel late", "card declined"])
    second = memo.embed(["parcel late", "refund missing"])
    assert calls == [["card declined", "parcel late"], ["refund missing"]]
    direct = LocalEmbedder().embed(["card declined", "parcel late", "refund missing"])
    assert (first[0] == first[2]).all() and (first[1] == second[0]).all()
    # the same vectors as embedding directly (bf16 batches differ in the last digits: cosine, not equality)
    assert float(first[0] @ direct[0]) > 0.999 and float(second[1] @ direct[2]) > 0.999


def test_a_sync_pushes_only_what_changed_and_ends_where_a_full_sync_does(indexed, tmp_path):
    """A re-enriched message: only its documents are read with their vectors and pushed, and the index then
    holds exactly what a sync into an empty index gives."""
    from feedback_ops.embed.factory import make_embedder
    from feedback_ops.search.embedded import EmbeddedIndex, open_active_index
    from feedback_ops.search.sync import sync_index

    settings, _ = indexed
    units = _units(settings)
    feedback_id = units["unit_id"].str.split(":").str[0].value_counts().index[0]  # the message of most units
    with open_warehouse(settings) as warehouse:
        warehouse.execute(
            "update enrichment.feedback_enrichment set category = 'pricing', confidence = 0.11 "
            "where feedback_id = ?",
            [feedback_id],
        )
    second = pipeline.embed_and_index(settings)
    assert second["upserted"] == int((units["unit_id"].str.split(":").str[0] == feedback_id).sum()) > 1

    embedder = make_embedder(settings)
    active = open_active_index(settings, embedder.dimensions)
    fresh = EmbeddedIndex(tmp_path / "fresh.duckdb", embedder.dimensions)
    try:
        with open_warehouse(settings) as warehouse:
            full = sync_index(warehouse, fresh, settings, embedder, current_enrichment_version(settings))
        assert full.upserted == len(units)
        assert active.content_hashes() == fresh.content_hashes()
        changed = active.connection.execute(
            "select category, vector from documents where feedback_id = ? order by unit_id", [feedback_id]
        ).fetchall()
        rebuilt = fresh.connection.execute(
            "select category, vector from documents where feedback_id = ? order by unit_id", [feedback_id]
        ).fetchall()
        assert changed == rebuilt and {row[0] for row in changed} == {"pricing"}
    finally:
        active.close()
        fresh.close()
