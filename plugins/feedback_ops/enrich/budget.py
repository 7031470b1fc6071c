"""What model calls cost: the price table (``include/model_prices.yaml``) and the per-run budget.

The budget decides, before each call, which deployment may take it: the strong one while the projected spend
stays under ``degrade_at_share`` of the run budget, then the cheap one while it stays under the whole budget,
then none (the record is deferred to a later run). Projected spend = what was spent + what calls in flight
reserved + this call's estimate, so concurrent calls cannot overshoot the budget together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field


class Price(BaseModel):
    """USD per 1,000 input and output tokens of one deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_1k: float = Field(ge=0.0)
    output_per_1k: float = Field(ge=0.0)


class PriceTable(BaseModel):
    """A versioned price table: deployment (or model) name -> ``Price``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    currency: str = "USD"
    deployments: dict[str, Price]

    def price(self, deployment: str) -> Price:
        """The price of ``deployment`` (KeyError naming the known ones when it has none)."""
        try:
            return self.deployments[deployment]
        except KeyError:
            known = ", ".join(sorted(self.deployments))
            raise KeyError(
                f"no price for deployment {deployment!r} in price table {self.version} (known: {known})"
            ) from None

    def cost(self, deployment: str, tokens_in: int, tokens_out: int) -> float:
        """USD cost of a call with these token counts on ``deployment``."""
        price = self.price(deployment)
        return (tokens_in * price.input_per_1k + tokens_out * price.output_per_1k) / 1000.0


def load_prices(path: Path) -> PriceTable:
    """Load and validate the price table YAML at ``path``."""
    document = yaml.safe_load(Path(path).read_bytes())
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a price table is a mapping with 'version' and 'deployments'")
    return PriceTable.model_validate({**document, "version": str(document.get("version", ""))})


@dataclass(frozen=True)
class Reservation:
    """Budget held for one call in flight on ``deployment``."""

    deployment: str
    cost_usd: float


class RunBudget:
    """The spending limit of one enrichment run, with degradation to a cheap deployment.

    Args:
        prices: the price table.
        limit_usd: the run budget.
        degrade_at_share: share of ``limit_usd`` up to which the strong deployment is used.
        deployment / cheap_deployment: the strong and the cheap deployment.
    """

    def __init__(
        self,
        prices: PriceTable,
        limit_usd: float,
        degrade_at_share: float,
        deployment: str,
        cheap_deployment: str,
    ) -> None:
        if limit_usd < 0 or not 0.0 <= degrade_at_share <= 1.0:
            raise ValueError("the run budget must be >= 0 and degrade_at_share within [0, 1]")
        prices.price(deployment)
        prices.price(cheap_deployment)
        self.prices = prices
        self.limit_usd = limit_usd
        self._tiers = ((deployment, limit_usd * degrade_at_share), (cheap_deployment, limit_usd))
        self.spent_usd = 0.0
        self.reserved_usd = 0.0

    def reserve(self, tokens_in: int, tokens_out: int) -> Reservation | None:
        """Hold the estimated cost of one call on the first tier it fits in; None when it fits in none."""
        for deployment, ceiling in self._tiers:
            cost = self.prices.cost(deployment, tokens_in, tokens_out)
            if self.spent_usd + self.reserved_usd + cost <= ceiling:
                self.reserved_usd += cost
                return Reservation(deployment, cost)
        return None

    def settle(self, reservation: Reservation, cost_usd: float) -> None:
        """Release a reservation and book what the call really cost (0 when it failed before usage)."""
        self.reserved_usd = max(0.0, self.reserved_usd - reservation.cost_usd)
        self.spent_usd += cost_usd
