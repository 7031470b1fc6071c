"""What enriching the pending records with a cloud backend would cost, computed before any call is made.

Counts the silver items the runner would send (no enrichment and no quarantine at the backend's version, and
no earlier result to reuse by text hash), estimates each call's tokens the way the backend budgets them
(prompt + schema characters / 4 in, ``max_output_tokens`` out: an upper bound) and prices them with the
price table. The run budget is simulated over the same estimates, so the table also shows how many records
would go to the cheap deployment and how many would be deferred to a later run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from feedback_ops.enrich.budget import RunBudget
from feedback_ops.enrich.runner import PENDING_SQL, _items
from feedback_ops.warehouse.base import Warehouse

if TYPE_CHECKING:
    from feedback_ops.enrich.azure_openai import AzureOpenAIEnricher

REUSABLE_SQL = f"""
    select count(*) from ({PENDING_SQL}) as p
    where exists (
        select 1 from enrichment.feedback_enrichment as e
        where e.text_hash = p.text_hash and e.enrichment_version = ?
    )
"""
TO_SEND_SQL = f"""
    select p.* from ({PENDING_SQL}) as p
    where not exists (
        select 1 from enrichment.feedback_enrichment as e
        where e.text_hash = p.text_hash and e.enrichment_version = ?
    )
    order by p.feedback_id
"""


@dataclass
class TierEstimate:
    """Records, tokens and cost the budget would give one deployment."""

    records: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


@dataclass
class EnrichmentEstimate:
    """The estimate of one backend's next run."""

    backend: str
    enrichment_version: str
    price_version: str
    budget_usd: float
    silver_rows: int = 0
    pending: int = 0
    reusable: int = 0
    to_send: int = 0
    tiers: dict[str, TierEstimate] = field(default_factory=dict)
    deferred: int = 0
    all_strong_usd: float = 0.0
    """What the records to send would cost if all went to the strong deployment (no budget)."""


def estimate_pending(warehouse: Warehouse, enricher: AzureOpenAIEnricher) -> EnrichmentEstimate:
    """Estimate the tokens and cost of enriching what is pending at ``enricher``'s version (a cloud backend)."""
    version = enricher.enrichment_version
    llm = enricher.llm
    estimate = EnrichmentEstimate(
        backend=enricher.backend,
        enrichment_version=version,
        price_version=enricher.prices.version,
        budget_usd=llm.run_budget_usd,
    )
    estimate.silver_rows = int(warehouse.scalar("select count(*) from silver.int_feedback_deduplicated"))
    pending = [version, version]
    estimate.pending = int(warehouse.scalar(f"select count(*) from ({PENDING_SQL}) as p", pending))
    estimate.reusable = int(warehouse.scalar(REUSABLE_SQL, [*pending, version]))
    items = _items(warehouse.query_df(TO_SEND_SQL, [*pending, version]))
    estimate.to_send = len(items)
    budget = RunBudget(
        enricher.prices, llm.run_budget_usd, llm.degrade_at_share, llm.deployment, llm.cheap_deployment
    )
    estimate.tiers = {llm.deployment: TierEstimate(), llm.cheap_deployment: TierEstimate()}
    for item in items:
        tokens_in, tokens_out = enricher.estimate_call_tokens(item)
        estimate.all_strong_usd += enricher.prices.cost(llm.deployment, tokens_in, tokens_out)
        reservation = budget.reserve(tokens_in, tokens_out)
        if reservation is None:
            estimate.deferred += 1
            continue
        budget.settle(reservation, reservation.cost_usd)
        tier = estimate.tiers[reservation.deployment]
        tier.records += 1
        tier.tokens_in += tokens_in
        tier.tokens_out += tokens_out
        tier.cost_usd += reservation.cost_usd
    return estimate


def render_estimate(estimate: EnrichmentEstimate) -> str:
    """The estimate as the table ``feedback-ops estimate`` prints."""
    lines = [
        "Enrichment estimate (no model was called; tokens = characters / 4, output at its limit)",
        f"  backend             {estimate.backend}",
        f"  enrichment version  {estimate.enrichment_version}",
        f"  price table         {estimate.price_version}",
        f"  silver items        {estimate.silver_rows}",
        f"  pending             {estimate.pending} (reusable by text hash: {estimate.reusable})",
        f"  to send             {estimate.to_send}",
        "",
        f"  {'deployment':<24}{'records':>9}{'tokens_in':>12}{'tokens_out':>12}{'cost_usd':>12}",
    ]
    total = TierEstimate()
    for name, tier in estimate.tiers.items():
        lines.append(
            f"  {name:<24}{tier.records:>9}{tier.tokens_in:>12,}{tier.tokens_out:>12,}{tier.cost_usd:>12.4f}"
        )
        total.records += tier.records
        total.tokens_in += tier.tokens_in
        total.tokens_out += tier.tokens_out
        total.cost_usd += tier.cost_usd
    lines += [
        f"  {'deferred (over budget)':<24}{estimate.deferred:>9}",
        f"  {'total':<24}{total.records:>9}{total.tokens_in:>12,}{total.tokens_out:>12,}{total.cost_usd:>12.4f}",
        "",
        f"  run budget {estimate.budget_usd:.2f} USD; all on the strong deployment: {estimate.all_strong_usd:.4f} USD",
    ]
    return "\n".join(lines)
