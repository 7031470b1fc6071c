"""Task prompts (``include/prompts/*.md``): loading, rendering and their stamped versions.

One file per task. Each starts with a front-matter header (``---`` lines) declaring at least ``task`` and
``version``; the body is a ``string.Template`` (``$text``, ``$categories``, ...). A prompt's version is its
declared version plus a short hash of the file, and the prompt-set version hashes every file, so editing any
prompt changes the version stamped on enrichment rows, even for the local backend that sends no prompt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from string import Template

import yaml

_FENCE = "---"


@dataclass(frozen=True)
class Prompt:
    """One task prompt."""

    task: str
    declared_version: str
    body: str
    content_hash: str

    @property
    def version(self) -> str:
        """``<declared>+<hash8>``."""
        return f"{self.declared_version}+{self.content_hash[:8]}"

    def render(self, **values: str) -> str:
        """The prompt body with ``$name`` placeholders filled (KeyError when one is missing)."""
        return Template(self.body).substitute(values)


@dataclass(frozen=True)
class PromptSet:
    """Every prompt of a prompts folder, keyed by task."""

    prompts: dict[str, Prompt]

    @property
    def version(self) -> str:
        """One version for the whole set: ``prompts-<hash12>`` over every task's version."""
        digest = hashlib.sha256()
        for task in sorted(self.prompts):
            digest.update(f"{task}={self.prompts[task].version}\n".encode())
        return f"prompts-{digest.hexdigest()[:12]}"

    def __getitem__(self, task: str) -> Prompt:
        return self.prompts[task]


def parse_prompt(raw: bytes, source: str = "<prompt>") -> Prompt:
    """Parse one prompt file: front matter (``task``, ``version``) then the template body."""
    text = raw.decode("utf-8")
    head, separator, body = text.removeprefix(_FENCE + "\n").partition("\n" + _FENCE + "\n")
    header = yaml.safe_load(head) if text.startswith(_FENCE) and separator else None
    if not isinstance(header, dict) or not header.get("task") or not header.get("version"):
        raise ValueError(f"{source}: a prompt starts with a '---' header declaring 'task' and 'version'")
    return Prompt(
        task=str(header["task"]),
        declared_version=str(header["version"]),
        body=body,
        content_hash=hashlib.sha256(raw).hexdigest(),
    )


def load_prompts(prompts_dir: Path) -> PromptSet:
    """Load every ``*.md`` prompt of ``prompts_dir`` (ValueError when empty or a task repeats)."""
    prompts: dict[str, Prompt] = {}
    for path in sorted(Path(prompts_dir).glob("*.md")):
        prompt = parse_prompt(path.read_bytes(), source=str(path))
        if prompt.task in prompts:
            raise ValueError(f"{path}: task {prompt.task!r} is declared twice")
        prompts[prompt.task] = prompt
    if not prompts:
        raise ValueError(f"no prompts (*.md) in {prompts_dir}")
    return PromptSet(prompts)


def prompt_version(prompts_dir: Path) -> str:
    """The version of the prompt set in ``prompts_dir`` (see ``PromptSet.version``)."""
    return load_prompts(prompts_dir).version
