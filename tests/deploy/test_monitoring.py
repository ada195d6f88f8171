"""The Grafana dashboard and the Prometheus alerts in deploy/ use only metrics the processes export
(bot/metrics.py), so a renamed metric cannot leave a panel or an alert silently empty."""

from __future__ import annotations

import json
import re

import yaml

from bot import metrics
from bot.config import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
NAME = re.compile(r"\b(debtbot_[a-z_]+)")
OUTSIDE_REGISTRY = {"debtbot"}  # job names in `up{job=~"debtbot-.*"}`


def exported_names() -> set[str]:
    """Every sample name the registry can export (counters' _total, histograms' _bucket, ...)."""
    names = set()
    for family in metrics.REGISTRY.collect():
        names.add(family.name)
        for suffix in ("_total", "_created", "_bucket", "_count", "_sum"):
            names.add(family.name + suffix)
    return names


def used_names(expressions: list[str]) -> set[str]:
    return {name for expression in expressions for name in NAME.findall(expression)} - OUTSIDE_REGISTRY


def test_every_dashboard_panel_queries_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "debtbot-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(expressions) >= 12
    assert used_names(expressions) <= exported_names()


def test_every_alert_uses_exported_metrics_and_says_what_to_do() -> None:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert used_names([rule["expr"] for rule in rules]) <= exported_names()
    for rule in rules:
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert rule["annotations"]["summary"]


def test_a_misspelt_metric_would_be_caught() -> None:
    assert not used_names(["sum(rate(debtbot_turn_total[5m]))"]) <= exported_names()
