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


def test_instruments_import_and_list(tmp_path: Path) -> None:
    listing = tmp_path / "instruments.csv"
    listing.write_text(
        "symbol,name,asset_class,exchange,currency,tick_size,lot_size,fractionable,shortable\n"
        "AAPL,Apple Inc.,us_equity,XNAS,USD,0.01,0.000000001,true,true\n"
        "BTC/USD,Bitcoin,crypto,CRYPTO,USD,0.01,0.000000001,true,false\n"
    )
    first = runner.invoke(cli, ["instruments", "import", str(listing)])
    assert first.exit_code == 0, first.output
    assert "2 instruments created, 0 updated" in first.output
    again = runner.invoke(cli, ["instruments", "import", str(listing)])
    assert "0 instruments created, 2 updated" in again.output
    listed = runner.invoke(cli, ["instruments", "list"])
    assert [line.split()[0] for line in listed.output.splitlines()] == ["AAPL", "BTC/USD"]


def test_a_bad_instrument_file_is_reported_and_changes_nothing(tmp_path: Path) -> None:
    listing = tmp_path / "instruments.csv"
    listing.write_text(
        "symbol,name,asset_class,exchange,currency,tick_size,lot_size,fractionable,shortable\n"
        "AAPL,Apple Inc.,us_equity,XNAS,USD,0.01,0.000000001,true,true\n"
        "MSFT,Microsoft,us_equity,XNAS,USD,zero,1,true,true\n"
    )
    result = runner.invoke(cli, ["instruments", "import", str(listing)])
    assert result.exit_code == 1
    assert "line 3" in result.output
    assert runner.invoke(cli, ["instruments", "list"]).output == ""
    missing = runner.invoke(cli, ["instruments", "import", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1
    assert "cannot read" in missing.output
