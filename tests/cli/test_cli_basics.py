"""The `seatledger` command's presets and demo, through the real Typer app."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import uvicorn
import yaml
from typer.testing import CliRunner

from seatledger.api.app import app_from_environment
from seatledger.cli.main import app
from seatledger.domain.policy import policy_from_mapping
from seatledger.presets import preset_names
from seatledger.service.collector import SERVING_YOUNG_THRESHOLD

runner = CliRunner()


def test_presets_lists_every_preset_with_its_currency() -> None:
    result = runner.invoke(app, ["presets"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in preset_names():
        assert name in result.output
    assert "EUR" in result.output and "USD" in result.output


def test_presets_show_prints_a_policy_that_loads() -> None:
    result = runner.invoke(app, ["presets", "show", "reviewer-pro"])
    assert result.exit_code == 0, result.output
    policy = policy_from_mapping(yaml.safe_load(result.output))
    assert policy.seat_price.format() == "99.00"
    assert policy.included_seats == 2


def test_an_unknown_preset_is_one_line_and_exit_2() -> None:
    result = runner.invoke(app, ["presets", "show", "nope"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["seatledger: not_found: No preset 'nope'."]


def test_demo_creates_the_account_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    first = runner.invoke(app, ["demo", "--database", url])
    assert first.exit_code == 0, first.output
    assert "Created the demo account" in first.output
    assert "3 / 3 seats used" in first.output
    again = runner.invoke(app, ["demo", "--database", url])
    assert again.exit_code == 0, again.output
    assert "Found the demo account" in again.output
    assert "3 / 3 seats used" in again.output


def test_serve_tunes_its_collector_once_the_app_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One worker: the app runs in this process, so what uvicorn is handed shows the tuning.
    seen: dict[str, object] = {}

    def run(asgi: object, **_: object) -> None:
        seen["threshold"] = gc.get_threshold()[0]
        seen["frozen"] = gc.get_freeze_count()

    before = gc.get_threshold()
    monkeypatch.setattr(uvicorn, "run", run)
    try:
        result = runner.invoke(app, ["serve", "--database", f"sqlite:///{tmp_path / 's.db'}"])
        assert result.exit_code == 0, result.output
        assert seen["threshold"] == SERVING_YOUNG_THRESHOLD
        assert isinstance(seen["frozen"], int) and seen["frozen"] > 0
        # Each process of --workers N builds its app with the same tuning.
        gc.unfreeze()
        gc.set_threshold(*before)
        monkeypatch.setenv("SEATLEDGER_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
        app_from_environment()
        assert gc.get_threshold()[0] == SERVING_YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
