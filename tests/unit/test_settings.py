from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from finplat.platform.settings import InsecureSettings, Settings, load_settings


def test_embedded_defaults_need_no_server() -> None:
    settings = Settings()
    assert settings.resolved_database_url == "sqlite+aiosqlite:///var/finplat.db"
    assert settings.bus_backend == "memory"


def production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "secret_key": SecretStr("k" * 40),
        "master_key_file": Path("/run/secrets/finplat-master-keys.json"),
        "mail_transport": "smtp",
        "rate_limit_backend": "redis",
        "marketdata_cache_backend": "redis",
    }
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="FINPLAT_SECRET_KEY"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="32"):
        Settings(environment="production", secret_key=SecretStr("short"))


def test_production_refuses_a_wildcard_cors_origin() -> None:
    with pytest.raises(ValidationError, match="CORS"):
        production(cors_allow_origins=["*"])


def test_production_starts_with_a_real_secret() -> None:
    settings = production()
    assert settings.is_production
    assert InsecureSettings.__mro__[1] is ValueError


def test_secrets_do_not_show_in_repr() -> None:
    settings = Settings(secret_key=SecretStr("do-not-print-me-" * 3))
    assert "do-not-print-me" not in repr(settings)
    assert "do-not-print-me" not in str(settings.model_dump())


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINPLAT_HTTP_PORT", "9000")
    monkeypatch.setenv("FINPLAT_CORS_ALLOW_ORIGINS", "https://a.example, https://b.example")
    settings = load_settings()
    assert settings.http_port == 9000
    assert settings.cors_allow_origins == ["https://a.example", "https://b.example"]


def test_a_misspelt_setting_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINPLAT_DATABSE_URL", "postgresql://x")
    with pytest.raises(ValueError, match="FINPLAT_DATABSE_URL"):
        load_settings()


def test_invalid_values_are_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINPLAT_BUS_BACKEND", "carrier-pigeon")
    with pytest.raises(ValidationError):
        load_settings()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"master_key_file": None}, "FINPLAT_MASTER_KEY_FILE"),
        ({"mail_transport": "log"}, "FINPLAT_MAIL_TRANSPORT"),
        ({"rate_limit_backend": "memory"}, "FINPLAT_RATE_LIMIT_BACKEND"),
        ({"marketdata_cache_backend": "memory"}, "FINPLAT_MARKETDATA_CACHE_BACKEND"),
    ],
)
def test_production_refuses_embedded_stand_ins(override: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        production(**override)
