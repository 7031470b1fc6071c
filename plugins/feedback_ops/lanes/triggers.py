"""What starts the urgent lane: an event trigger on the landing area (local) or a Service Bus queue (cloud).

Airflow 3 schedules a DAG on an asset whose ``AssetWatcher`` runs a ``BaseEventTrigger`` in the triggerer;
each ``TriggerEvent`` becomes an asset event (its payload in ``extra["payload"]``) and starts a DAG run.

``LandingArrivalTrigger`` polls the landing folder and fires once per set of new files with their names
(``{"files": [...]}``). A file counts once it has stopped changing between two polls (a file still being
written is not read half-way), and is reported once: the trigger keeps a small ledger of what it reported
(checksums, in a JSON file under ``.local/lanes/``), because the triggerer re-creates a watcher's trigger
after every event and DuckDB's single writer must not be read from the triggerer while tasks write it. The
first poll with no ledger takes the files already there as seen: the urgent lane reacts to arrivals after it
is switched on; whatever it does not pick up, the hourly main DAG loads. Files are never deleted or moved.

In the cloud (``FEEDBACK_OPS_URGENT_TRIGGER=service_bus``) the microsoft-azure provider's
``AzureServiceBusQueueTrigger`` listens on the queue ADLS event notifications post to; its message body
names the landed file(s) (``feedback_ops.lanes.urgent.arrived_files``).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from feedback_ops.config import Settings, get_settings
from feedback_ops.ingest.landing import SUPPORTED_FORMATS, file_checksum, refusal_reason

Signature = tuple[int, int]
"""A file's (size, modification time in ns): unchanged between two polls means the file is complete."""


def landing_snapshot(landing_dir: Path) -> dict[str, Signature]:
    """Every supported export file under ``landing_dir`` (name relative to it, as bronze's ``source_file``)
    with its signature; the same selection as ``ingest.landing.discover``, without reading the files."""
    found: dict[str, Signature] = {}
    if not landing_dir.is_dir():
        return found
    landing_root = landing_dir.resolve()
    for root, _dirs, names in os.walk(landing_dir):
        for name in names:
            path = Path(root) / name
            if name.startswith(".") or path.suffix.lower() not in SUPPORTED_FORMATS:
                continue
            if refusal_reason(path, landing_root) is not None:  # never read: the bronze load reports it
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed between the listing and the stat
                continue
            found[path.relative_to(landing_dir).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


class ArrivalLedger:
    """The files the trigger has reported: checksums, and the signature each name had when it was read.

    A renamed copy of a reported file (same checksum) is not reported again; a file rewritten in place (new
    signature, new checksum) is.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        document = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        self.checksums: set[str] = set(document.get("checksums", []))
        self.signatures: dict[str, list[int]] = dict(document.get("signatures", {}))

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def known(self, name: str, signature: Signature) -> bool:
        """True when ``name`` was read with this very signature (no need to checksum it again)."""
        return self.signatures.get(name) == list(signature)

    def record(self, name: str, signature: Signature, checksum: str) -> bool:
        """Remember a file read; True when its content is new (never reported under any name)."""
        self.signatures[name] = list(signature)
        if checksum in self.checksums:
            return False
        self.checksums.add(checksum)
        return True

    def save(self) -> None:
        """Write atomically (temp file, then rename): a trigger killed mid-write leaves the old ledger."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        document = {"checksums": sorted(self.checksums), "signatures": self.signatures}
        temporary.write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
        temporary.replace(self.path)


def new_arrivals(
    landing_dir: Path, ledger: ArrivalLedger, previous: dict[str, Signature]
) -> tuple[list[str], dict[str, Signature]]:
    """One poll: the complete files whose content the ledger has not seen (recorded in it), and the
    snapshot to compare the next poll with. With no ledger yet, everything present is recorded as seen."""
    current = landing_snapshot(landing_dir)
    first_poll = not ledger.exists
    arrived = []
    for name, signature in sorted(current.items()):
        complete = first_poll or previous.get(name) == signature
        if not complete or ledger.known(name, signature):
            continue
        if ledger.record(name, signature, file_checksum(landing_dir / name)) and not first_poll:
            arrived.append(name)
    if first_poll or arrived:
        ledger.save()
    return arrived, current


class LandingArrivalTrigger(BaseEventTrigger):
    """Fires when new export files have landed, with their names; never deletes or moves them.

    Args:
        landing_dir: the landing folder (``FEEDBACK_OPS_LANDING_DIR``).
        ledger_path: the JSON ledger of files already reported.
        poll_interval: seconds between two listings (``FEEDBACK_OPS_URGENT_POLL_S``).
    """

    def __init__(self, landing_dir: str, ledger_path: str, poll_interval: float = 2.0) -> None:
        super().__init__()
        self.landing_dir = landing_dir
        self.ledger_path = ledger_path
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "landing_dir": self.landing_dir,
                "ledger_path": self.ledger_path,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until files arrive, report them in one event, and end (the triggerer starts it again)."""
        ledger = ArrivalLedger(Path(self.ledger_path))
        previous: dict[str, Signature] = {}
        while True:
            arrived, previous = await asyncio.to_thread(
                new_arrivals, Path(self.landing_dir), ledger, previous
            )
            if arrived:
                self.log.info("new landing files: %s", arrived)
                yield TriggerEvent({"files": arrived})
                return
            await asyncio.sleep(self.poll_interval)


def arrival_ledger_path(settings: Settings) -> Path:
    """Where the landing trigger keeps its ledger of reported files."""
    return settings.local_dir / "lanes" / "urgent_landing_ledger.json"


def urgent_lane_trigger(settings: Settings | None = None) -> BaseEventTrigger:
    """The trigger the urgent lane's asset watcher runs, as configured: the landing-folder poller locally,
    the microsoft-azure provider's Service Bus queue trigger in the cloud. Builds no connection."""
    settings = settings or get_settings()
    lanes = settings.lanes
    if lanes.urgent_trigger == "service_bus":
        from airflow.providers.microsoft.azure.triggers.message_bus import AzureServiceBusQueueTrigger

        return AzureServiceBusQueueTrigger(
            queues=[lanes.service_bus_queue],
            azure_service_bus_conn_id=lanes.service_bus_conn_id,
            poll_interval=lanes.urgent_poll_s,
        )
    return LandingArrivalTrigger(
        landing_dir=str(settings.landing_dir),
        ledger_path=str(arrival_ledger_path(settings)),
        poll_interval=lanes.urgent_poll_s,
    )
