from pathlib import Path

import pytest
from typer.testing import CliRunner

from finplat import __version__
from finplat.cli import cli
from finplat.platform.db.migrate import head_revision

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FINPLAT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FINPLAT_LOG_FORMAT", "console")
    monkeypatch.setenv("FINPLAT_LOG_LEVEL", "WARNING")
    return tmp_path


def test_version() -> None:
    result = runner.invoke(cli, ["version"])
    assert result.exit_code == 0
    assert result.output.strip() == __version__


def test_migrate_is_idempotent(data_dir: Path) -> None:
    first = runner.invoke(cli, ["migrate"])
    assert first.exit_code == 0, first.output
    head = head_revision()
    assert f"empty -> {head}" in first.output
    assert (data_dir / "finplat.db").is_file()
    again = runner.invoke(cli, ["migrate"])
    assert again.exit_code == 0
    assert f"{head} -> {head}" in again.output


def test_demo_seeds_accounts_once_and_reprints_them() -> None:
    first = runner.invoke(cli, ["demo"])
    assert first.exit_code == 0, first.output
    assert first.output.count("(created)") == 3
    second = runner.invoke(cli, ["demo"])
    assert second.exit_code == 0
    assert second.output.count("(exists)") == 3
    secret_lines = [line for line in first.output.splitlines() if "TOTP secret" in line]
    assert [line.replace("(created)", "") for line in secret_lines] == [
        line.replace("(exists)", "") for line in second.output.splitlines() if "TOTP" in line
    ]


def test_split_roles_without_a_shared_bus_are_refused() -> None:
    result = runner.invoke(cli, ["serve", "--role", "worker"])
    assert result.exit_code == 2
    assert "FINPLAT_BUS_BACKEND=kafka" in result.output


def test_invalid_settings_are_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINPLAT_HTTP_PROT", "1")
    result = runner.invoke(cli, ["version"])
    assert result.exit_code == 2
    assert "FINPLAT_HTTP_PROT" in result.output
