"""``AzureOpenAIEnricher``: enrichment by a language model behind Azure OpenAI or an OpenAI-compatible endpoint.

Built on the official ``openai`` SDK (``AsyncAzureOpenAI``, or ``AsyncOpenAI`` with a ``base_url``), chat
completions with structured outputs: ``chat.completions.with_raw_response.parse`` with a pydantic model whose
category is a ``Literal`` of the taxonomy's ids and whose scores are bounded, so the service constrains the
output and the SDK validates it. Per record:

1. cut a text longer than ``settings.max_text_chars`` and redact PII with the same ``Redactor`` as the local
   backend: only redacted text is ever sent;
2. render the ``classify`` prompt (``include/prompts/classify.md``) and estimate its tokens (chars / 4); a text
   that could overflow the deployments' context (``llm.request_tokens_limit``, counted at one token per UTF-8
   byte, an upper bound for any byte-level tokenizer, with room for the schema and the output) is cut to fit,
   and the row is flagged ``text_truncated``;
3. ask the run budget for a deployment: the strong one, the cheap one once the spend passes
   ``degrade_at_share`` of the budget, none when even the cheap one would overspend (the record is deferred);
4. wait for the client-side requests- and tokens-per-minute limits, then call (SDK retries off, ``max_retries=0``:
   the loop here retries 429 — honouring ``Retry-After`` / ``retry-after-ms`` — 5xx, timeouts and connection
   errors with exponential backoff and jitter, and logs each retry);
5. validate the output; invalid output (not JSON, not the schema, a label outside the taxonomy) is asked
   again up to ``max_output_attempts`` times, then the record is quarantined, never written as if valid;
6. language (local detector) and the taxonomy's urgency rules complete the row (urgency = the higher of the
   model's and the rules'), with tokens, cost (price table), latency and the deployment that answered.

Every input ends in exactly one of ``EnrichmentBatch.results`` / ``quarantined`` / ``deferred``. The backend
returns no vectors: the embed stage embeds the redacted text of its results.

``enrichment_version`` hashes the backend, both deployments, the API version, the redaction patterns, the
classify prompt's version and the taxonomy version: rows answered by the cheap deployment under budget
pressure carry the same enrichment version (the pair of tiers is the configuration) and record the
deployment that produced them in ``model_name`` / ``model_version``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from feedback_ops.config import ConfigurationError, LanguageModelSettings, Settings, get_settings
from feedback_ops.enrich.budget import RunBudget, load_prices
from feedback_ops.enrich.language import detect_language
from feedback_ops.enrich.outcomes import DeferredRecord, EnrichmentBatch, QuarantinedRecord
from feedback_ops.enrich.prompts import load_prompts
from feedback_ops.enrich.redact import Redaction, Redactor
from feedback_ops.enrich.schemas import (
    TEXT_TRUNCATED,
    EnrichmentResult,
    FeedbackItem,
    SentimentLabel,
    cap_text,
    clip_to_contract,
    enrichment_version_of,
    lane_for,
)
from feedback_ops.enrich.taxonomy import Taxonomy, Urgency, load_taxonomy
from feedback_ops.enrich.urgency import UrgencyRules, highest
from feedback_ops.throttle import RateLimiter, backoff_delay, retry_after_seconds

log = logging.getLogger(__name__)

CLOUD_BACKENDS = ("azure_openai", "openai_compatible")
CLASSIFY_TASK = "classify"
RULES_VERSION = "1"
"""Bump when what this backend does around the model changes (urgency merge, review threshold)."""
REVIEW_BELOW = 0.5
CHARS_PER_TOKEN = 4
REQUEST_OVERHEAD_TOKENS = 64
"""Room for the chat format's own tokens around the messages (role markers, separators)."""
ERROR_CHARS = 500
RETRYABLE_STATUS = frozenset({408, 409})
"""Besides 429 and 5xx: request timeout and conflict (transient on Azure)."""
REJECTED_STATUS = frozenset({400, 422})
"""The service refused this request (e.g. Azure's prompt content filter): quarantine the record."""


def estimate_tokens(text: str) -> int:
    """A rough token count: characters / 4, rounded up (no tokenizer download needed)."""
    return max(1, -(-len(text) // CHARS_PER_TOKEN))


class ClassifyOutputBase(BaseModel):
    """What the ``classify`` prompt asks for; ``classify_output_model`` narrows ``category`` to a taxonomy."""

    model_config = ConfigDict(extra="forbid")

    category: str
    sentiment_label: SentimentLabel
    sentiment_score: float = Field(ge=-1.0, le=1.0)
    urgency: Urgency
    confidence: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _label_matches_score(self) -> ClassifyOutputBase:
        if (self.sentiment_label == "negative" and self.sentiment_score > 0) or (
            self.sentiment_label == "positive" and self.sentiment_score < 0
        ):
            raise ValueError(
                f"sentiment_score {self.sentiment_score} contradicts sentiment_label {self.sentiment_label!r}"
            )
        return self


def classify_output_model(taxonomy: Taxonomy) -> type[ClassifyOutputBase]:
    """The structured-output model of one taxonomy: ``category`` is a ``Literal`` of its ids."""
    category_type: Any = Literal.__getitem__(tuple(sorted(taxonomy.category_ids)))
    return create_model("ClassifyOutput", __base__=ClassifyOutputBase, category=(category_type, ...))


class CallUsage(Protocol):
    """What a record's calls used, as a result row reports it (``_Account`` here, the batch lane's line account)."""

    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_ms: float


@dataclass
class _Account:
    """What one record's calls used, across attempts."""

    calls: int = 0
    invalid_outputs: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    last_error: str = ""


@dataclass(frozen=True)
class _Reply:
    """A successful HTTP exchange: the SDK's raw response and the deployment that answered."""

    response: Any
    deployment: str


@dataclass(frozen=True)
class _Stop:
    """The record ends here without a result."""

    outcome: Literal["deferred", "quarantined"]
    reason: Any
    detail: str


class _InvalidOutput(Exception):
    """The model's answer does not validate against the output model."""


class _Refused(Exception):
    """The service's content filter stopped the answer."""


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".replace("\n", " ")
    return text[:ERROR_CHARS]


def api_label(backend: str, llm: LanguageModelSettings) -> str:
    """The Azure API version of ``llm`` (``settings.llm``), or ``openai-compatible``."""
    return llm.api_version if backend == "azure_openai" else "openai-compatible"


def cloud_model_version(
    backend: str, llm: LanguageModelSettings, redactor_version: str, max_text_chars: int
) -> str:
    """A cloud backend's model version: backend, both deployments, API version, rules and redaction-pattern
    versions, and the text cap (``Settings.max_text_chars``)."""
    tiers = f"{llm.deployment}|{llm.cheap_deployment}"
    rules = f"rules-{RULES_VERSION}.{redactor_version}+text{max_text_chars}"
    return f"{backend}:{tiers}@{api_label(backend, llm)}+{rules}"


def cloud_prompt_version(classify_prompt_version: str) -> str:
    """The version of the one prompt a cloud backend sends (``classify-<declared>+<hash8>``)."""
    return f"{CLASSIFY_TASK}-{classify_prompt_version}"


class AzureOpenAIEnricher:
    """Enriches feedback items through Azure OpenAI (or an OpenAI-compatible endpoint); same interface as
    ``LocalEnricher`` plus ``enrich_batch`` (results, quarantined, deferred) and ``begin_run`` (budget reset).

    Args:
        settings: paths and ``settings.llm`` (process settings if None).
        backend: ``azure_openai`` (``AsyncAzureOpenAI`` on ``llm.endpoint``) or ``openai_compatible``
            (``AsyncOpenAI`` on ``llm.base_url``).
        id_patterns: redaction patterns for business identifiers (``redact.DEFAULT_ID_PATTERNS`` if None).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        backend: str = "azure_openai",
        id_patterns: Mapping[str, str] | None = None,
    ) -> None:
        if backend not in CLOUD_BACKENDS:
            raise ValueError(f"unknown cloud backend {backend!r}; expected one of {CLOUD_BACKENDS}")
        self.settings = settings or get_settings()
        self.backend = backend
        self.llm = self.settings.llm
        self.redactor = Redactor(id_patterns)
        self.taxonomy = load_taxonomy(self.settings.taxonomy_path)
        self.urgency_rules = UrgencyRules(self.taxonomy)
        self.prompt = load_prompts(self.settings.prompts_dir)[CLASSIFY_TASK]
        self.output_model = classify_output_model(self.taxonomy)
        self.prices = load_prices(self.llm.prices_path)
        self.limiter = RateLimiter(self.llm.requests_per_minute, self.llm.tokens_per_minute)
        self._budget = self._new_budget()
        self._categories = "\n".join(f"- {c.id}: {c.description}" for c in self.taxonomy.categories)
        schema = json.dumps(self.output_model.model_json_schema())
        self._schema_tokens = estimate_tokens(schema)
        self._schema_bytes = len(schema.encode("utf-8"))

    # --- versions -------------------------------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        """The strong deployment (rows record the deployment that actually answered)."""
        return self.llm.deployment

    @property
    def api_label(self) -> str:
        """The Azure API version, or ``openai-compatible``."""
        return api_label(self.backend, self.llm)

    @property
    def model_version(self) -> str:
        """Backend, both deployments, API version, rules and redaction-pattern versions, text cap."""
        return cloud_model_version(
            self.backend, self.llm, self.redactor.version, self.settings.max_text_chars
        )

    @property
    def prompt_version(self) -> str:
        """The version of the one prompt this backend sends (``classify-<declared>+<hash8>``)."""
        return cloud_prompt_version(self.prompt.version)

    @property
    def taxonomy_version(self) -> str:
        """Declared taxonomy version + content hash."""
        return self.taxonomy.version

    @property
    def enrichment_version(self) -> str:
        """Hash of model, prompt and taxonomy versions: one enrichment row per item and value of this."""
        return enrichment_version_of(self.model_version, self.prompt_version, self.taxonomy_version)

    # --- budget and estimates -------------------------------------------------------------------------------

    def _new_budget(self) -> RunBudget:
        return RunBudget(
            self.prices,
            self.llm.run_budget_usd,
            self.llm.degrade_at_share,
            self.llm.deployment,
            self.llm.cheap_deployment,
        )

    def begin_run(self) -> None:
        """Start a new run: the budget is spent from zero again (the runner calls this once per run)."""
        self._budget = self._new_budget()

    @property
    def spent_usd(self) -> float:
        """What this run's calls have cost so far, failed and retried calls included."""
        return self._budget.spent_usd

    def messages(self, item: FeedbackItem, redaction: Redaction) -> list[dict[str, str]]:
        """The chat messages sent for one item: the rendered classify prompt over the redacted text only."""
        content = self.prompt.render(
            taxonomy_version=self.taxonomy_version,
            categories=self._categories,
            channel=item.channel,
            text=redaction.text,
        )
        return [{"role": "user", "content": content}]

    def estimate_call_tokens(self, item: FeedbackItem) -> tuple[int, int]:
        """Estimated (input, output) tokens of one call for ``item``: prompt + schema, and the output limit."""
        return self._estimate(self.messages(item, self.prepared(item)[0]))

    def prepared(self, item: FeedbackItem) -> tuple[Redaction, str | None]:
        """The redacted text sent for ``item`` (cut to ``max_text_chars``, then to the context) and the
        ``text_truncated`` note when it was cut."""
        text, note = cap_text(item.text, self.settings.max_text_chars)
        redaction = self.redactor.redact(text)
        encoded = redaction.text.encode("utf-8")
        room = self._text_room_bytes(item)
        if len(encoded) > room:
            head = encoded[:room].decode("utf-8", errors="ignore")
            cut, _ = cap_text(redaction.text, len(head))
            redaction = Redaction(text=cut, counts=redaction.counts, spans=redaction.spans)
            note = (
                f"{TEXT_TRUNCATED}: {len(item.text):,} characters, cut to {len(cut):,} of redacted text to fit "
                f"a context of {self.llm.request_tokens_limit:,} tokens"
            )
        return redaction, note

    def _text_room_bytes(self, item: FeedbackItem) -> int:
        """The most UTF-8 bytes of redacted text one request for ``item`` may carry: the request limit less the
        prompt around the text, the output schema, the output and the chat format (one token per byte at
        most, so the bound holds whatever the tokenizer)."""
        around = sum(len(m["content"].encode("utf-8")) for m in self.messages(item, Redaction(text="")))
        reserved = around + self._schema_bytes + self.llm.max_output_tokens + REQUEST_OVERHEAD_TOKENS
        return max(0, self.llm.request_tokens_limit - reserved)

    def _estimate(self, messages: list[dict[str, str]]) -> tuple[int, int]:
        prompt = estimate_tokens("".join(message["content"] for message in messages))
        return prompt + self._schema_tokens, self.llm.max_output_tokens

    # --- enrichment -----------------------------------------------------------------------------------------

    def enrich(self, items: Sequence[FeedbackItem]) -> list[EnrichmentResult]:
        """The valid results of a batch (in input order); quarantined and deferred items are logged only —
        use ``enrich_batch`` to keep them."""
        batch = self.enrich_batch(items)
        if batch.quarantined or batch.deferred:
            log.warning(
                "enrich: %d quarantined and %d deferred items are not in the results",
                len(batch.quarantined),
                len(batch.deferred),
            )
        return batch.results

    def enrich_batch(self, items: Sequence[FeedbackItem]) -> EnrichmentBatch:
        """Enrich a batch: every item ends in exactly one of results, quarantined or deferred."""
        if not items:
            return EnrichmentBatch()
        spent_before = self._budget.spent_usd
        prepared = [self.prepared(item) for item in items]
        outcomes = asyncio.run(self._enrich_all(items, [redaction for redaction, _ in prepared]))
        outcomes = [
            outcome.model_copy(update={"enrichment_notes": note})
            if isinstance(outcome, EnrichmentResult) and note
            else outcome
            for outcome, (_, note) in zip(outcomes, prepared, strict=True)
        ]
        batch = EnrichmentBatch(spent_usd=self._budget.spent_usd - spent_before)
        for outcome in outcomes:
            if isinstance(outcome, EnrichmentResult):
                batch.results.append(outcome)
            elif isinstance(outcome, QuarantinedRecord):
                batch.quarantined.append(outcome)
            else:
                batch.deferred.append(outcome)
        return batch

    async def _enrich_all(
        self, items: Sequence[FeedbackItem], redactions: list[Redaction]
    ) -> list[EnrichmentResult | QuarantinedRecord | DeferredRecord]:
        client = self._client()
        semaphore = asyncio.Semaphore(max(1, self.llm.concurrency))

        async def one(item: FeedbackItem, redaction: Redaction) -> Any:
            async with semaphore:
                return await self._enrich_one(client, item, redaction)

        try:
            return list(await asyncio.gather(*map(one, items, redactions)))
        finally:
            await client.close()

    def _client(self) -> Any:
        """A new SDK client with retries off (the loop here owns them); one per batch, closed after it."""
        from openai import AsyncAzureOpenAI, AsyncOpenAI

        options: dict[str, Any] = {"max_retries": 0, "timeout": self.llm.timeout_s}
        if self.backend == "azure_openai":
            if not self.llm.endpoint or not self.llm.api_key:
                raise ConfigurationError(
                    "azure_openai enrichment needs AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY"
                )
            return AsyncAzureOpenAI(
                azure_endpoint=self.llm.endpoint,
                api_key=self.llm.api_key,
                api_version=self.llm.api_version,
                **options,
            )
        if not self.llm.base_url:
            raise ConfigurationError("openai_compatible enrichment needs FEEDBACK_OPS_LLM_BASE_URL")
        # Local OpenAI-compatible servers often need no key; the SDK insists on one.
        return AsyncOpenAI(base_url=self.llm.base_url, api_key=self.llm.api_key or "not-needed", **options)

    async def _enrich_one(
        self, client: Any, item: FeedbackItem, redaction: Redaction
    ) -> EnrichmentResult | QuarantinedRecord | DeferredRecord:
        """Call until the output validates, the output attempts run out, or the call loop gives up."""
        messages = self.messages(item, redaction)
        tokens = self._estimate(messages)
        account = _Account()
        while True:
            reply = await self._call(client, item.feedback_id, messages, tokens, account)
            if isinstance(reply, _Stop):
                return self._stopped(item, reply, account)
            try:
                output = self._validated(reply.response)
            except _Refused as error:
                return self._stopped(item, _Stop("quarantined", "content_filter", str(error)), account)
            except _InvalidOutput as error:
                account.invalid_outputs += 1
                account.last_error = str(error)
                log.warning(
                    "enrich %s: invalid output from %s (%d/%d): %s",
                    item.feedback_id,
                    reply.deployment,
                    account.invalid_outputs,
                    self.llm.max_output_attempts,
                    account.last_error,
                )
                if account.invalid_outputs >= self.llm.max_output_attempts:
                    return self._stopped(item, _Stop("quarantined", "invalid_output", str(error)), account)
                continue
            try:
                return self._result(item, redaction, output, reply.deployment, account)
            except ValueError as error:  # the completed row breaks the contract even once clipped to it
                return self._stopped(item, _Stop("quarantined", "invalid_output", _describe(error)), account)

    async def _call(
        self,
        client: Any,
        feedback_id: str,
        messages: list[dict[str, str]],
        tokens: tuple[int, int],
        account: _Account,
    ) -> _Reply | _Stop:
        """One model answer over HTTP, retrying 429 / 5xx / timeouts; a ``_Stop`` when the record must wait
        (budget spent, service unavailable) or was refused by the service."""
        import openai

        for attempt in range(1, self.llm.max_attempts + 1):
            reservation = self._budget.reserve(*tokens)
            if reservation is None:
                detail = f"run budget of {self.llm.run_budget_usd} USD spent"
                return _Stop("deferred", "budget_exhausted", detail)
            await self.limiter.acquire(sum(tokens))
            started = time.perf_counter()
            account.calls += 1
            try:
                response = await client.chat.completions.with_raw_response.parse(
                    model=reservation.deployment,
                    messages=messages,
                    response_format=self.output_model,
                    max_tokens=self.llm.max_output_tokens,
                    temperature=0,
                    timeout=self.llm.timeout_s,
                )
            except openai.APIError as error:
                self._budget.settle(reservation, 0.0)
                account.latency_ms += (time.perf_counter() - started) * 1000.0
                stop = await self._after_error(error, feedback_id, reservation.deployment, attempt, account)
                if stop is not None:
                    return stop
                continue
            account.latency_ms += (time.perf_counter() - started) * 1000.0
            self._budget.settle(
                reservation, self._book_usage(response, reservation.deployment, tokens, account)
            )
            return _Reply(response, reservation.deployment)
        return _Stop("deferred", "service_unavailable", account.last_error)

    async def _after_error(
        self, error: Exception, feedback_id: str, deployment: str, attempt: int, account: _Account
    ) -> _Stop | None:
        """Decide what a failed call means: None to retry (after sleeping), a ``_Stop``, or re-raise.

        Raises:
            openai.APIStatusError: 401, 403, 404 and other errors no retry can fix (configuration).
        """
        import openai

        account.last_error = _describe(error)
        status = error.status_code if isinstance(error, openai.APIStatusError) else None
        if status in REJECTED_STATUS:
            return _Stop("quarantined", "rejected_by_service", account.last_error)
        retryable = isinstance(error, openai.APIConnectionError) or (
            status is not None and (status == 429 or status >= 500 or status in RETRYABLE_STATUS)
        )
        if not retryable:
            raise error
        if attempt >= self.llm.max_attempts:
            log.warning("enrich %s: giving up after %d calls: %s", feedback_id, attempt, account.last_error)
            return None
        headers = error.response.headers if isinstance(error, openai.APIStatusError) else None
        server_delay = retry_after_seconds(headers)
        delay = server_delay
        if delay is None:
            delay = backoff_delay(attempt, self.llm.backoff_base_s, self.llm.backoff_max_s)
        if status == 429 and server_delay is not None:
            self.limiter.pause(server_delay)
        log.warning(
            "enrich %s: %s on %s (call %d/%d), retrying in %.2f s",
            feedback_id,
            account.last_error,
            deployment,
            attempt,
            self.llm.max_attempts,
            delay,
        )
        await asyncio.sleep(delay)
        return None

    def _book_usage(
        self, response: Any, deployment: str, tokens: tuple[int, int], account: _Account
    ) -> float:
        """Add the call's token usage (the estimate when the response has none) and cost to the account."""
        try:
            usage = response.http_response.json().get("usage") or {}
        except (ValueError, AttributeError):
            usage = {}
        tokens_in = int(usage.get("prompt_tokens") or tokens[0])
        tokens_out = int(usage.get("completion_tokens") or 0)
        cost = self.prices.cost(deployment, tokens_in, tokens_out)
        account.tokens_in += tokens_in
        account.tokens_out += tokens_out
        account.cost_usd += cost
        return cost

    def _validated(self, response: Any) -> ClassifyOutputBase:
        """The parsed, validated output of a raw response.

        Raises:
            _Refused: the content filter stopped the answer.
            _InvalidOutput: anything else that keeps the answer from validating.
        """
        from openai import ContentFilterFinishReasonError

        try:
            message = response.parse().choices[0].message
        except ContentFilterFinishReasonError as error:
            raise _Refused(_describe(error)) from error
        except Exception as error:  # not JSON, not the schema, a label outside the taxonomy, cut short
            raise _InvalidOutput(_describe(error)) from error
        if getattr(message, "refusal", None):
            raise _InvalidOutput(f"refusal: {message.refusal}"[:ERROR_CHARS])
        if not isinstance(message.parsed, ClassifyOutputBase):
            raise _InvalidOutput("the answer has no content")
        return message.parsed

    def _stopped(
        self, item: FeedbackItem, stop: _Stop, account: _Account
    ) -> QuarantinedRecord | DeferredRecord:
        if stop.outcome == "deferred":
            return DeferredRecord(item.feedback_id, stop.reason, stop.detail)
        log.warning(
            "enrich %s: quarantined (%s) after %d calls", item.feedback_id, stop.reason, account.calls
        )
        return QuarantinedRecord(
            feedback_id=item.feedback_id,
            enrichment_version=self.enrichment_version,
            text_hash=item.text_hash,
            reason=stop.reason,
            attempts=max(account.calls, 1),
            last_error=stop.detail[:ERROR_CHARS],
        )

    def _result(
        self,
        item: FeedbackItem,
        redaction: Redaction,
        output: ClassifyOutputBase,
        deployment: str,
        account: CallUsage,
    ) -> EnrichmentResult:
        """The enrichment row of a validated answer."""
        category = self.taxonomy.get(output.category)
        sentiment = (output.sentiment_label, output.sentiment_score)
        from_rules = self.urgency_rules.assess(redaction.text, category, sentiment, item.severity)
        urgency = highest([output.urgency, from_rules])
        language, language_confidence = detect_language(redaction.text)
        row = {
            "feedback_id": item.feedback_id,
            "enrichment_version": self.enrichment_version,
            "text_hash": item.text_hash,
            "redacted_text": redaction.text,
            "redaction_counts": redaction.counts,
            "language": language,
            "language_confidence": language_confidence,
            "category": category.id,
            "sentiment_label": output.sentiment_label,
            "sentiment_score": round(output.sentiment_score, 4),
            "urgency": urgency,
            "confidence": round(output.confidence, 4),
            "needs_review": output.confidence < REVIEW_BELOW,
            "lane": lane_for(urgency),
            "model_name": deployment,
            "model_version": f"{deployment}@{self.api_label}",
            "prompt_version": self.prompt_version,
            "taxonomy_version": self.taxonomy_version,
            "tokens_in": account.tokens_in,
            "tokens_out": account.tokens_out,
            "cost_usd": round(account.cost_usd, 8),
            "latency_ms": round(account.latency_ms, 3),
        }
        return EnrichmentResult.model_validate(
            clip_to_contract(EnrichmentResult, row), context={"taxonomy": self.taxonomy}
        )
