"""A language model writes the answer to an ``ask`` question - from the retrieved evidence only.

The model (Azure OpenAI through ``AzureOpenAI``, or any OpenAI-compatible endpoint) receives the question and
the evidence groups with their redacted quotes and ids, and must return ``{"answer", "citations"}`` (structured
output validated by pydantic). Every id it cites - in ``citations`` or in brackets in the answer text - must
be one of the retrieved feedback ids; an answer that cites anything else is sent back once with the offending
ids named, and rejected (``InvalidCitations``) if it still does, so the caller falls back to the extractive
answer. The prompt is ``include/prompts/retrieval/answer.md`` (outside the enrichment prompt set, so editing
it re-enriches nothing).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from feedback_ops.config import PROJECT_ROOT
from feedback_ops.enrich.prompts import parse_prompt
from feedback_ops.search.ask_types import InvalidCitations, ParsedQuestion, ThemeGroup

ANSWER_PROMPT = PROJECT_ROOT / "include" / "prompts" / "retrieval" / "answer.md"
_BRACKETED = re.compile(r"\[([^\]\s]+)\]")


class AnswerOutput(BaseModel):
    """What the model must return."""

    answer: str = Field(min_length=1, max_length=4000)
    citations: list[str]


def render_evidence(groups: list[ThemeGroup], max_groups: int = 8) -> str:
    """The evidence block of the prompt: themes with counts, then quotes with their ids."""
    lines = []
    for rank, group in enumerate(groups[:max_groups], start=1):
        lines.append(f"Theme {rank}: {group.label} ({group.feedback_count} items)")
        lines += [f'  - "{quote.text}" [{quote.feedback_id}]' for quote in group.quotes]
    return "\n".join(lines)


def cited_ids(output: AnswerOutput) -> set[str]:
    """Ids the answer cites, in its list and in brackets in its text (placeholders like [EMAIL] excluded)."""
    in_text = {found for found in _BRACKETED.findall(output.answer) if not found.isupper()}
    return set(output.citations) | in_text


class LanguageModelAnswerer:
    """Writes ``ask`` answers with the configured chat deployment (``settings.llm``)."""

    def __init__(self, settings: Any, prompt_path: Path = ANSWER_PROMPT) -> None:
        self.settings = settings
        self.llm = settings.llm
        self.backend = settings.enrichment_backend
        self.prompt = parse_prompt(prompt_path.read_bytes(), str(prompt_path))

    def _client(self) -> Any:
        from openai import AzureOpenAI, OpenAI

        options: dict[str, Any] = {"max_retries": self.llm.max_attempts, "timeout": self.llm.timeout_s}
        if self.backend == "azure_openai":
            if not self.llm.endpoint or not self.llm.api_key:
                raise ValueError(
                    "answers with azure_openai need AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY"
                )
            return AzureOpenAI(
                azure_endpoint=self.llm.endpoint,
                api_key=self.llm.api_key,
                api_version=self.llm.api_version,
                **options,
            )
        if not self.llm.base_url:
            raise ValueError("answers with openai_compatible need FEEDBACK_OPS_LLM_BASE_URL")
        return OpenAI(base_url=self.llm.base_url, api_key=self.llm.api_key or "not-needed", **options)

    def answer(self, parsed: ParsedQuestion, groups: list[ThemeGroup]) -> tuple[str, list[str]]:
        """The model's answer and citations, every citation among the evidence ids (else InvalidCitations)."""
        allowed = {quote.feedback_id for group in groups for quote in group.quotes}
        messages = [
            {
                "role": "user",
                "content": self.prompt.render(
                    question=parsed.question, window=parsed.window_label, evidence=render_evidence(groups)
                ),
            }
        ]
        client = self._client()
        try:
            for attempt in (1, 2):
                output = self._complete(client, messages)
                invented = sorted(cited_ids(output) - allowed)
                if not invented and output.citations:
                    return output.answer, list(dict.fromkeys(output.citations))
                problem = (
                    f"cited ids not in the evidence: {', '.join(invented)}"
                    if invented
                    else "cited no evidence"
                )
                if attempt == 2:
                    raise InvalidCitations(problem)
                messages += [
                    {"role": "assistant", "content": output.model_dump_json()},
                    {
                        "role": "user",
                        "content": f"Your answer {problem}. Answer again citing only ids shown in the evidence.",
                    },
                ]
        finally:
            client.close()
        raise AssertionError("unreachable")

    def _complete(self, client: Any, messages: list[dict[str, str]]) -> AnswerOutput:
        response = client.chat.completions.create(
            model=self.llm.deployment,
            messages=messages,
            max_tokens=600,
            temperature=0,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "ask_answer", "strict": True, "schema": _strict_schema()},
            },
        )
        content = response.choices[0].message.content or ""
        try:
            return AnswerOutput.model_validate(json.loads(content))
        except (json.JSONDecodeError, ValidationError) as error:
            raise InvalidCitations(f"the model's output is not a valid answer: {error}") from error


def _strict_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "citations": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["answer", "citations"],
        "additionalProperties": False,
    }
