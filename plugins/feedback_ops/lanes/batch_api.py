"""Low-priority enrichment through the Azure OpenAI Batch API: one JSONL job per batch, half the price.

The batch lane sends the records nobody is waiting for as one asynchronous job instead of one call each:

1. every record is redacted and its ``classify`` request built exactly as the online backend builds it
   (``AzureOpenAIEnricher``: same prompt, same structured-output schema, so the same ``enrichment_version``:
   a record enriched here is current for every lane);
2. the requests are written as JSONL lines (``custom_id`` = ``feedback_id``, ``url`` ``/chat/completions``),
   uploaded with ``files.create(purpose="batch")`` and submitted with ``batches.create(endpoint=
   "/chat/completions", completion_window="24h")``;
3. the job is polled with ``batches.retrieve`` until it is final; its output file (status 200 lines) and
   error file (the rest) are read with ``files.content``;
4. each answer is validated like an online one; lines that failed (an HTTP error, invalid output) are sent
   again in a new job, up to ``llm.max_output_attempts`` jobs; then invalid output is quarantined, a
   request the service refused (400 / 422) too, and a line that never got an answer is deferred;
5. cost is the price table's at ``BATCH_PRICE_SHARE`` (50 %), within the lane's budget: records the budget
   cannot cover are deferred before anything is sent.

A job that is not final after ``lanes.batch_max_wait_s`` leaves its records deferred (they stay pending).
The claims around each batch are the runner's (``enrich_pending``): this class only has ``enrich_batch``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from feedback_ops.config import Settings, get_settings
from feedback_ops.enrich.outcomes import DeferredRecord, EnrichmentBatch, QuarantinedRecord, QuarantineReason
from feedback_ops.enrich.schemas import EnrichmentResult, FeedbackItem

log = logging.getLogger(__name__)

BATCH_PRICE_SHARE = 0.5
"""Azure OpenAI global batch bills half the global-standard price."""
BATCH_ENDPOINT = "/chat/completions"
FINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
REJECTED_STATUS = frozenset({400, 422})


@dataclass
class LineAccount:
    """What one record's lines used across jobs (the shape ``AzureOpenAIEnricher._result`` reads)."""

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    last_error: str = ""
    invalid: bool = False
    rejected: bool = False


@dataclass
class JobReport:
    """What one batch lane run submitted, for its XCom."""

    jobs: list[dict[str, Any]] = field(default_factory=list)


class AzureOpenAIBatchEnricher:
    """Enriches through Azure OpenAI batch jobs; the interface the runner uses (versions, ``begin_run``,
    ``enrich_batch``) with the online backend's versions.

    Args:
        settings: the batch lane's settings (``settings.for_lane("batch")``: its budget).
        sleep: how to wait between polls (tests pass a no-op).
    """

    def __init__(self, settings: Settings | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        from feedback_ops.enrich.azure_openai import AzureOpenAIEnricher

        self.settings = settings or get_settings()
        self.online = AzureOpenAIEnricher(self.settings, backend="azure_openai")
        self.llm = self.settings.llm
        self.lanes = self.settings.lanes
        self.sleep = sleep
        self.report = JobReport()
        self.spent_usd = 0.0

    # the same versions as the online backend: one enrichment per record, whichever lane wrote it
    @property
    def enrichment_version(self) -> str:
        return self.online.enrichment_version

    @property
    def model_version(self) -> str:
        return self.online.model_version

    @property
    def taxonomy_version(self) -> str:
        return self.online.taxonomy_version

    def begin_run(self) -> None:
        """A new run spends its budget from zero."""
        self.spent_usd = 0.0

    def _client(self) -> Any:
        from openai import AzureOpenAI

        if not self.llm.endpoint or not self.llm.api_key:
            raise ValueError("the batch lane needs AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY")
        return AzureOpenAI(
            azure_endpoint=self.llm.endpoint,
            api_key=self.llm.api_key,
            api_version=self.llm.api_version,
            max_retries=self.llm.max_attempts,  # the SDK retries 429 / 5xx of the job-control calls
            timeout=self.llm.timeout_s,
        )

    def request_line(self, item: FeedbackItem, redaction: Any) -> dict[str, Any]:
        """The JSONL line of one record: the online call's body (prompt, schema, limits) as a batch task."""
        from openai.lib._parsing._completions import type_to_response_format_param

        return {
            "custom_id": item.feedback_id,
            "method": "POST",
            "url": BATCH_ENDPOINT,
            "body": {
                "model": self.llm.deployment,
                "messages": self.online.messages(item, redaction),
                # the SDK's own conversion: the same schema the online backend's parse() sends
                "response_format": type_to_response_format_param(self.online.output_model),
                "max_tokens": self.llm.max_output_tokens,
                "temperature": 0,
            },
        }

    def _affordable(self, items: Sequence[FeedbackItem]) -> tuple[list[FeedbackItem], list[FeedbackItem]]:
        """Split items into those the budget covers (estimated, at the batch price) and those it does not."""
        prices = self.online.prices
        projected = self.spent_usd
        covered, over = [], []
        for item in items:
            tokens_in, tokens_out = self.online.estimate_call_tokens(item)
            cost = prices.cost(self.llm.deployment, tokens_in, tokens_out) * BATCH_PRICE_SHARE
            if projected + cost <= self.llm.run_budget_usd:
                projected += cost
                covered.append(item)
            else:
                over.append(item)
        return covered, over

    def enrich_batch(self, items: Sequence[FeedbackItem]) -> EnrichmentBatch:
        """Enrich ``items`` through batch jobs: every item ends in results, quarantined or deferred."""
        batch = EnrichmentBatch()
        covered, over = self._affordable(items)
        batch.deferred += [
            DeferredRecord(
                i.feedback_id, "budget_exhausted", f"batch lane budget of {self.llm.run_budget_usd} USD"
            )
            for i in over
        ]
        if not covered:
            return batch
        spent_before = self.spent_usd
        prepared = {i.feedback_id: self.online.prepared(i) for i in covered}  # capped, fit to the context
        redactions = {feedback_id: redaction for feedback_id, (redaction, _) in prepared.items()}
        accounts = {i.feedback_id: LineAccount() for i in covered}
        by_id = {i.feedback_id: i for i in covered}
        todo = list(covered)
        client = self._client()
        try:
            for _round in range(max(1, self.llm.max_output_attempts)):
                lines = [self.request_line(i, redactions[i.feedback_id]) for i in todo]
                answers = self._run_job(client, lines)
                if answers is None:  # not final in time, or the job failed: nothing more this run
                    break
                todo = []
                for feedback_id in [line["custom_id"] for line in lines]:
                    outcome = self._outcome(by_id[feedback_id], redactions, accounts[feedback_id], answers)
                    if outcome is None:
                        todo.append(by_id[feedback_id])
                    elif isinstance(outcome, EnrichmentResult):
                        note = prepared[feedback_id][1]
                        batch.results.append(outcome.model_copy(update={"enrichment_notes": note}))
                    else:
                        batch.quarantined.append(outcome)
                if not todo:
                    break
        finally:
            client.close()
        for item in todo:
            account = accounts[item.feedback_id]
            if account.invalid:
                batch.quarantined.append(self._quarantined(item, account, "invalid_output"))
            else:
                detail = account.last_error or "batch job not finished"
                batch.deferred.append(DeferredRecord(item.feedback_id, "service_unavailable", detail[:500]))
        batch.spent_usd = self.spent_usd - spent_before
        return batch

    def _run_job(self, client: Any, lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
        """Upload, submit and poll one job; its answers by ``custom_id`` (None: not final in time / failed)."""
        content = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")
        uploaded = client.files.create(file=("enrichment.jsonl", content), purpose="batch")
        job = client.batches.create(
            input_file_id=uploaded.id, endpoint=BATCH_ENDPOINT, completion_window="24h"
        )
        started = time.monotonic()
        while job.status not in FINAL_STATUSES:
            if time.monotonic() - started > self.lanes.batch_max_wait_s:
                log.warning(
                    "batch job %s still %s after %.0f s", job.id, job.status, self.lanes.batch_max_wait_s
                )
                self.report.jobs.append({"id": job.id, "status": job.status, "lines": len(lines)})
                return None
            self.sleep(self.lanes.batch_poll_s)
            job = client.batches.retrieve(job.id)
        self.report.jobs.append({"id": job.id, "status": job.status, "lines": len(lines)})
        answers: dict[str, dict[str, Any]] = {}
        for file_id in (job.output_file_id, job.error_file_id):
            if file_id:
                for raw in client.files.content(file_id).text.splitlines():
                    if raw.strip():
                        answer = json.loads(raw)
                        answers[answer["custom_id"]] = answer
        if job.status != "completed" and not answers:
            return None
        return answers

    def _outcome(
        self,
        item: FeedbackItem,
        redactions: dict[str, Any],
        account: LineAccount,
        answers: dict[str, dict[str, Any]],
    ) -> EnrichmentResult | QuarantinedRecord | None:
        """The record's result or quarantine from its answer line; None to send it again."""
        answer = answers.get(item.feedback_id)
        if answer is None:
            account.last_error = "no answer line in the job's output or error file"
            return None
        account.calls += 1
        response = answer.get("response") or {}
        status = int(response.get("status_code") or 0)
        body = response.get("body") or {}
        if status != 200:
            error = answer.get("error") or body.get("error") or {}
            account.last_error = f"HTTP {status}: {error.get('message', error)}"[:500]
            account.rejected = status in REJECTED_STATUS
            return self._quarantined(item, account, "rejected_by_service") if account.rejected else None
        self._book(account, body.get("usage") or {})
        choice = (body.get("choices") or [{}])[0]
        if choice.get("finish_reason") == "content_filter":
            return self._quarantined(item, account, "content_filter")
        try:
            output = self.online.output_model.model_validate_json(
                (choice.get("message") or {}).get("content") or ""
            )
        except ValueError as error:
            account.invalid = True
            account.last_error = f"invalid output: {error}".replace("\n", " ")[:500]
            return None
        account.invalid = False
        try:
            return self.online._result(
                item, redactions[item.feedback_id], output, self.llm.deployment, account
            )
        except ValueError as error:  # the completed row breaks the contract even once clipped to it
            account.last_error = f"invalid output: {error}".replace("\n", " ")[:500]
            return self._quarantined(item, account, "invalid_output")

    def _book(self, account: LineAccount, usage: dict[str, Any]) -> None:
        tokens_in = int(usage.get("prompt_tokens") or 0)
        tokens_out = int(usage.get("completion_tokens") or 0)
        cost = self.online.prices.cost(self.llm.deployment, tokens_in, tokens_out) * BATCH_PRICE_SHARE
        account.tokens_in += tokens_in
        account.tokens_out += tokens_out
        account.cost_usd += cost
        self.spent_usd += cost

    def _quarantined(
        self, item: FeedbackItem, account: LineAccount, reason: QuarantineReason
    ) -> QuarantinedRecord:
        return QuarantinedRecord(
            feedback_id=item.feedback_id,
            enrichment_version=self.enrichment_version,
            text_hash=item.text_hash,
            reason=reason,
            attempts=max(account.calls, 1),
            last_error=account.last_error or reason,
        )
