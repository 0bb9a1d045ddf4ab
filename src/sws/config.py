"""Settings: `SWS_*` environment variables over an optional TOML file; read once in bootstrap."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _toml_path() -> Path:
    """The TOML file: `$SWS_CONFIG`, else `$SWS_HOME/sws.toml`."""
    explicit = os.environ.get("SWS_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("SWS_HOME", ".sws")) / "sws.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWS_", extra="forbid")

    home: Path = Path(".sws")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    auth_backend: Literal["local"] = "local"
    token_ttl_seconds: int = Field(default=12 * 3600, gt=0)
    regions: list[str] = Field(default_factory=lambda: ["RegionOne"])
    driver: Literal["simulated"] = "simulated"
    # Simulated seconds a Nova task (build, resize, shelve, ...) takes in the simulated region.
    sim_task_seconds: int = Field(default=3, ge=0)
    sim_hypervisors: int = Field(default=4, ge=1)
    tick_seconds: float = Field(default=1.0, gt=0)
    demo_data: bool = True

    @field_validator("regions")
    @classmethod
    def _regions_not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one region is needed")
        return value

    @property
    def db_url(self) -> str:
        """The database URL: `SWS_DATABASE_URL`, else SQLite under `$SWS_HOME`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'sws.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_path())
        return (init_settings, env_settings, toml)
