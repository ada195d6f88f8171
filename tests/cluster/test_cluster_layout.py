"""What `debtbot cluster` starts, without starting it: ports, the replicas' environment and
nginx's upstreams."""

from __future__ import annotations

import dataclasses

from bot.cluster import ClusterLayout, cluster_services, cluster_settings
from bot.config import load_settings


def two_by_two(tmp_path):
    settings = cluster_settings(dataclasses.replace(load_settings(), dialogue_replicas=2, action_replicas=2))
    return settings, {service.name: service for service in cluster_services(settings, tmp_path)}


def test_each_dialogue_replica_has_its_port_and_embeds_on_one_thread(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    settings, services = two_by_two(tmp_path)
    layout = ClusterLayout.of(settings)
    replicas = [services["dialogue-1"], services["dialogue-2"]]
    assert [int(s.environment["RASA_PORT"]) for s in replicas] == list(layout.dialogue_ports)
    # OpenMP's default (a thread per core in every replica) made two replicas slower than one.
    assert all(s.environment["OMP_NUM_THREADS"] == "1" for s in replicas)


def test_an_operators_thread_count_is_kept(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    _, services = two_by_two(tmp_path)
    assert services["dialogue-1"].environment["OMP_NUM_THREADS"] == "2"


def test_nginx_balances_over_every_replica(tmp_path) -> None:
    settings, services = two_by_two(tmp_path)
    layout = ClusterLayout.of(settings)
    config = (tmp_path / "nginx.conf").read_text()
    for port in (*layout.dialogue_ports, *layout.action_ports, layout.backoffice_port):
        assert f"server 127.0.0.1:{port} " in config
    assert f"listen 127.0.0.1:{layout.public_port};" in config
    assert "nginx" in services
