"""The pipeline's dbt commands share their vars, so dbt parses the project once, not once per command.

dbt re-parses the whole project (4-9 s on 2 cores) when a command's vars differ from the previous command's;
silver (which reads no var) and gold (which does) used to alternate and paid it on every command of every run.
"""

from __future__ import annotations

from feedback_ops import pipeline
from feedback_ops.alerts.pipeline_health import source_freshness
from feedback_ops.transform.dbt_runner import dbt_vars

VARS_CHANGED = "Unable to do partial parsing because config vars"


def test_silver_gold_and_freshness_reuse_one_parse(settings) -> None:
    pipeline.load_bronze(settings)
    log = settings.dbt_target_dir.parent / "logs" / "dbt.log"

    pipeline.build_silver(settings)
    assert "Unable to do partial parsing because saved manifest not found" in log.read_text()
    after_first_parse = len(log.read_text())

    pipeline.build_gold(settings)  # its --empty run of the incremental marts first, then the build
    source_freshness(settings, dbt_vars=dbt_vars(settings))
    pipeline.build_silver(settings)
    later = log.read_text()[after_first_parse:]
    assert later.count("Running with dbt=") == 4  # four more commands, logged in the same file
    assert VARS_CHANGED not in later and "Starting full parse" not in later

    source_freshness(settings)  # other vars (none): dbt does re-parse, which the check above would catch
    assert VARS_CHANGED in log.read_text()[after_first_parse:]
