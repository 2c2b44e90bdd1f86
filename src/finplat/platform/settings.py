"""Settings: read from the environment (prefix FINPLAT_) once, at start, and passed down.

Nothing in finplat reads settings at import time; `Settings()` is built by the CLI or the
caller of `create_app` and handed to everything that needs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused in production

Environment = Literal["development", "test", "production"]
BusBackendName = Literal["memory", "kafka"]


class InsecureSettings(ValueError):
    """The settings are not safe for production."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FINPLAT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    environment: Environment = "development"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)

    data_dir: Path = Path("var")
    database_url: str = ""
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1, le=200)

    bus_backend: BusBackendName = "memory"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = "finplat"
    kafka_consumer_group_prefix: str = "finplat"
    kafka_idempotent_producer: bool = True
    relay_batch_size: int = Field(default=200, ge=1, le=10_000)
    relay_poll_interval_ms: int = Field(default=200, ge=10, le=60_000)
    consumer_max_attempts: int = Field(default=5, ge=1, le=100)

    redis_url: str = ""
    redis_key_prefix: str = "finplat:"

    # keys and secrets (platform/crypto)
    master_key_file: Path | None = None  # default: <data_dir>/keys/master-keys.json
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_cost_kib: int = Field(default=65_536, ge=8, le=4_194_304)
    argon2_parallelism: int = Field(default=2, ge=1, le=16)

    # tokens and sessions (identity)
    jwt_algorithm: Literal["HS256", "EdDSA"] = "HS256"
    # Ed25519 PEM for EdDSA; default: <data_dir>/keys/jwt-ed25519.pem
    jwt_private_key_file: Path | None = None
    jwt_issuer: str = "finplat"
    jwt_audience: str = "finplat-api"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    step_up_max_age_seconds: int = Field(default=300, ge=30, le=3_600)
    email_token_ttl_hours: int = Field(default=24, ge=1, le=168)
    mfa_issuer: str = "finplat"
    totp_drift_steps: int = Field(default=1, ge=0, le=4)

    # login protection and rate limits
    rate_limit_backend: Literal["memory", "redis"] = "memory"
    rate_limit_per_ip_per_minute: int = Field(default=600, ge=1)
    rate_limit_per_principal_per_minute: int = Field(default=1_200, ge=1)
    login_attempts_per_ip_per_minute: int = Field(default=30, ge=1)
    lockout_threshold: int = Field(default=5, ge=1, le=100)
    lockout_base_seconds: int = Field(default=30, ge=1)
    lockout_max_seconds: int = Field(default=3_600, ge=1)

    # mail
    mail_transport: Literal["log", "smtp"] = "log"
    mail_from: str = "finplat <no-reply@finplat.local>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    public_base_url: str = "http://127.0.0.1:8000"

    # onboarding (KYC)
    kyc_minimum_age: int = Field(default=18, ge=16, le=25)
    document_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    document_verifier: Literal["local", "webhook"] = "local"
    document_verifier_url: str = ""
    document_verifier_secret: SecretStr = SecretStr("")
    screening_threshold: float = Field(default=85.0, ge=50.0, le=100.0)

    # funding (amounts in the funding currency, as decimal strings)
    funding_currency: str = "USD"
    withdrawal_approval_threshold: Decimal = Decimal("10000.00")
    daily_withdrawal_limit: Decimal = Decimal("25000.00")
    daily_deposit_limit: Decimal = Decimal("100000.00")

    @field_validator(
        "withdrawal_approval_threshold",
        "daily_withdrawal_limit",
        "daily_deposit_limit",
        "trading_max_order_qty",
        "trading_max_order_notional",
        "trading_collar_percent",
        "trading_commission_bps",
        "trading_crypto_fee_bps",
        "trading_sec_fee_rate",
        "trading_taf_per_share",
        "trading_taf_max",
        "paper_slippage_bps",
        mode="before",
    )
    @classmethod
    def _no_float_money(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError("money settings are decimal strings, not floats")
        return value

    # market data
    marketdata_provider: Literal["simulated", "replay", "alpaca"] = "simulated"
    marketdata_secondary: Literal["none", "simulated", "replay", "alpaca"] = "none"
    marketdata_seed: int = 20_260_105
    marketdata_tick_interval_ms: int = Field(default=500, ge=1, le=60_000)
    marketdata_silence_seconds: int = Field(default=10, ge=1, le=3_600)
    marketdata_replay_path: Path | None = None
    marketdata_replay_speed: Decimal = Field(default=Decimal(1), ge=0)
    marketdata_cache_backend: Literal["memory", "redis"] = "memory"
    marketdata_daily_history_days: int = Field(default=5 * 365, ge=0, le=40 * 365)
    marketdata_minute_history_days: int = Field(default=14, ge=0, le=90)
    alpaca_key_id: str = ""
    alpaca_secret_key: SecretStr = SecretStr("")
    alpaca_data_feed: Literal["iex", "sip", "delayed_sip"] = "iex"
    alpaca_data_url: str = "https://data.alpaca.markets"
    alpaca_stream_url: str = "wss://stream.data.alpaca.markets/v2"

    # trading: pre-trade risk limits and fees (amounts in the funding currency)
    trading_max_order_qty: Decimal = Decimal(1_000_000)
    trading_max_order_notional: Decimal = Decimal(1_000_000)
    trading_collar_percent: Decimal = Field(default=Decimal(10), gt=0, le=100)
    trading_max_orders_per_minute: int = Field(default=600, ge=1)
    trading_commission_bps: Decimal = Field(default=Decimal(0), ge=0, le=1000)
    trading_crypto_fee_bps: Decimal = Field(default=Decimal(25), ge=0, le=1000)
    trading_sec_fee_rate: Decimal = Field(default=Decimal("0.0000278"), ge=0, le=1)
    trading_taf_per_share: Decimal = Field(default=Decimal("0.000166"), ge=0, le=1)
    trading_taf_max: Decimal = Field(default=Decimal("8.30"), ge=0)
    paper_slippage_bps: Decimal = Field(default=Decimal(0), ge=0, le=1000)
    paper_latency_ms: int = Field(default=0, ge=0, le=60_000)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    cors_allow_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_request_body_bytes: int = Field(default=1_048_576, ge=1024)
    metrics_enabled: bool = True

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        secret = self.secret_key.get_secret_value()
        if secret == DEV_SECRET_KEY or len(secret) < 32:
            problems.append("FINPLAT_SECRET_KEY must be set to a random value of 32+ characters")
        if self.master_key_file is None:
            problems.append("FINPLAT_MASTER_KEY_FILE must name the master key file")
        if self.mail_transport == "log":
            problems.append("FINPLAT_MAIL_TRANSPORT must be smtp")
        if self.rate_limit_backend == "memory":
            problems.append("FINPLAT_RATE_LIMIT_BACKEND must be redis (limits must be shared)")
        if self.marketdata_cache_backend == "memory":
            problems.append(
                "FINPLAT_MARKETDATA_CACHE_BACKEND must be redis (every process reads quotes)"
            )
        if (
            self.document_verifier == "webhook"
            and len(self.document_verifier_secret.get_secret_value()) < 32
        ):
            problems.append("FINPLAT_DOCUMENT_VERIFIER_SECRET must have 32+ characters")
        if "*" in self.cors_allow_origins:
            problems.append("FINPLAT_CORS_ALLOW_ORIGINS must not contain '*'")
        if problems:
            raise InsecureSettings("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL; by default an SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'finplat.db').as_posix()}"

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "keys" / "master-keys.json"

    @property
    def resolved_jwt_private_key_file(self) -> Path:
        return self.jwt_private_key_file or self.data_dir / "keys" / "jwt-ed25519.pem"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from the environment, refusing FINPLAT_ variables nobody reads.

    A misspelt variable (FINPLAT_DATABSE_URL) would otherwise be ignored in silence.
    """
    env = os.environ if environ is None else environ
    known = {f"FINPLAT_{name.upper()}" for name in Settings.model_fields}
    unknown = sorted(
        key
        for key in env
        if key.upper().startswith("FINPLAT_") and key.upper().split("__", 1)[0] not in known
    )
    if unknown:
        raise ValueError("unknown settings in the environment: " + ", ".join(unknown))
    return Settings()
