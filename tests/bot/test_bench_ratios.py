"""`make bench`'s side-by-side ratios: the verdict against each target, and a stock bot that runs
Rasa's own template with its own endpoints, never ours."""

from __future__ import annotations

from pathlib import Path

from bot import bench, stock_bot


def test_a_ratio_passes_up_to_its_target_and_fails_above() -> None:
    assert bench.ratio("turn", 45.0, 30.0, 1.5, ours_p50_ms=45.0)["verdict"] == "PASS"
    failed = bench.ratio("turn", 46.0, 30.0, 1.5, ours_p50_ms=46.0, stock_p50_ms=30.0)
    assert failed["verdict"] == "FAIL"
    assert failed["ratio"] == 1.53
    assert (
        bench.ratio_lines({"turn_ratio": failed, "nlu_parse_ratio": failed, "growth_ratio": failed})[1]
        .strip()
        .startswith("turn_ratio        1.53 (target <= 1.5) FAIL  [ours_p50_ms 46.0, stock_p50_ms 30.0]")
    )


def test_the_stock_bot_runs_its_own_template_without_our_endpoints(tmp_path: Path) -> None:
    assert (stock_bot.TEMPLATE / "domain.yml").exists()
    assert "utter_greet" in (stock_bot.TEMPLATE / "domain.yml").read_text()
    service = stock_bot.stock_service("127.0.0.1", 5999, tmp_path)
    command = service.command
    assert command[command.index("--endpoints") + 1] == str(tmp_path / "endpoints.yml")
    assert command[command.index("--credentials") + 1] == str(tmp_path / "credentials.yml")
    assert command[command.index("--model") + 1] == str(tmp_path / "models" / "stock.tar.gz")
    assert "bot.dialogue_server" not in command
    assert service.health_url == "http://127.0.0.1:5999/status"


def test_a_trained_stock_model_is_not_trained_again(tmp_path: Path) -> None:
    model = stock_bot.model_file(tmp_path)
    model.parent.mkdir(parents=True)
    model.write_bytes(b"a model")
    assert stock_bot.prepare(tmp_path, tmp_path / "train.log") == model
    assert not (tmp_path / "train.log").exists()
