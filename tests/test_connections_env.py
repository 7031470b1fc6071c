"""Airflow connections given in the environment feed the Azure OpenAI and Azure AI Search settings."""

from __future__ import annotations

import pytest

from feedback_ops.config import AzureSearchSettings, LanguageModelSettings, connection_field

OPENAI_JSON = '{"conn_type": "http", "host": "https://fo-test.openai.azure.com", "password": "k-123"}'


def test_json_connection_fills_endpoint_and_key(monkeypatch):
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "FEEDBACK_OPS_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_OPENAI_DEFAULT", OPENAI_JSON)
    llm = LanguageModelSettings.from_env()
    assert (llm.endpoint, llm.api_key) == ("https://fo-test.openai.azure.com", "k-123")


def test_uri_connection_and_explicit_variables_win(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_AI_SEARCH_DEFAULT", "http://:s%40cret@fo-test.search.windows.net")
    monkeypatch.delenv("AZURE_SEARCH_API_KEY", raising=False)
    monkeypatch.setenv("AZURE_SEARCH_ENDPOINT", "https://explicit.search.windows.net")
    search = AzureSearchSettings.from_env()
    assert search.endpoint == "https://explicit.search.windows.net"
    assert search.api_key == "s@cret"
    assert connection_field("azure_ai_search_default", "host") == "https://fo-test.search.windows.net"


def test_absent_and_broken_connections(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_NOPE", raising=False)
    assert connection_field("nope", "host") is None
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", "{not json")
    with pytest.raises(ValueError, match="AIRFLOW_CONN_BROKEN is not a JSON object"):
        connection_field("broken", "host")
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", "just-a-word")
    with pytest.raises(ValueError, match="neither a JSON object nor a connection URI"):
        connection_field("broken", "host")
