"""The enrichment version resolved from the settings (``enrich.versions``) is the one each built backend stamps,
for every backend, and it moves with the files and settings the backend's version depends on."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from feedback_ops.config import ENRICHMENT_BACKENDS
from feedback_ops.enrich.azure_openai import AzureOpenAIEnricher
from feedback_ops.enrich.backends import make_enricher
from feedback_ops.enrich.local import LocalEnricher
from feedback_ops.enrich.rich import LocalRichEnricher
from feedback_ops.enrich.versions import current_enrichment_version, current_rich_version, current_versions
from feedback_ops.transform.dbt_runner import dbt_vars


@pytest.mark.parametrize("backend", ENRICHMENT_BACKENDS)
def test_the_resolved_version_is_what_the_built_backend_stamps(settings, backend):
    configured = dataclasses.replace(settings, enrichment_backend=backend)
    resolved = current_enrichment_version(configured)
    assert resolved == make_enricher(configured).enrichment_version
    assert len(resolved) == 16 and int(resolved, 16) >= 0


def test_the_backends_stamp_different_versions(settings):
    versions = {name: current_enrichment_version(settings, name) for name in ENRICHMENT_BACKENDS}
    assert versions["local"] == LocalEnricher(settings).enrichment_version
    assert (
        versions["azure_openai"] == AzureOpenAIEnricher(settings, backend="azure_openai").enrichment_version
    )
    assert len(set(versions.values())) == len(ENRICHMENT_BACKENDS)


def test_the_local_version_follows_the_redaction_config_of_the_settings(settings, tmp_path):
    shipped = settings.redaction_config_path
    config = tmp_path / "redaction.yaml"
    shutil.copytree(shipped.parent / "redaction", tmp_path / "redaction")  # the word lists it names
    config.write_text(shipped.read_text() + "\n# another revision\n")
    changed = dataclasses.replace(settings, redaction_config_path=config)
    assert current_enrichment_version(changed) == LocalEnricher(changed).enrichment_version
    assert current_enrichment_version(changed) != current_enrichment_version(settings)


def test_the_cloud_version_follows_the_deployments(settings):
    cheap = dataclasses.replace(
        settings,
        enrichment_backend="azure_openai",
        llm=dataclasses.replace(settings.llm, cheap_deployment="gpt-4.1-nano"),
    )
    assert current_enrichment_version(cheap) == AzureOpenAIEnricher(cheap).enrichment_version
    assert current_enrichment_version(cheap) != current_enrichment_version(settings, "azure_openai")


def test_an_unknown_backend_is_refused(settings):
    with pytest.raises(ValueError, match="unknown enrichment backend 'nope'"):
        current_enrichment_version(settings, "nope")


def test_dbt_vars_and_alerts_carry_the_configured_backends_versions(settings):
    cloud = dataclasses.replace(settings, enrichment_backend="azure_openai")
    stamped = AzureOpenAIEnricher(cloud).enrichment_version
    rich = LocalRichEnricher(cloud).rich_version
    assert current_rich_version(cloud) == rich
    assert current_versions(cloud) == {"enrichment_version": stamped, "rich_version": rich}
    assert dbt_vars(cloud)["enrichment_version"] == stamped
    assert dbt_vars(settings)["enrichment_version"] == LocalEnricher(settings).enrichment_version
