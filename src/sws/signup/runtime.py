"""The front door as the composition root builds it from the settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sws.clock import Clock
from sws.db.engine import Database
from sws.signup.accounts import build_accounts
from sws.signup.limits import build_limiter
from sws.signup.model import PasswordPolicy, read_list
from sws.signup.service import FrontDoor, FrontDoorConfig, Limits


def front_door_config(settings: Any) -> FrontDoorConfig:
    public = settings.public_url or f"http://{settings.host}:{settings.port}"
    return FrontDoorConfig(
        mode=settings.signup,
        verify_ttl=timedelta(hours=settings.signup_verify_hours),
        reset_ttl=timedelta(minutes=settings.password_reset_minutes),
        public_url=public,
        passwords=PasswordPolicy(
            min_length=settings.signup_password_min_length,
            common=read_list(settings.signup_common_passwords, "common-passwords.txt"),
        ),
        blocked_domains=read_list(settings.signup_blocked_domains, "disposable-domains.txt"),
        limits=Limits.with_counts(settings.signup_limits),
    )


def build_front_door(settings: Any, *, db: Database, clock: Clock) -> FrontDoor:
    return FrontDoor(
        db=db,
        clock=clock,
        config=front_door_config(settings),
        limiter=build_limiter(settings, db=db, clock=clock),
        accounts=build_accounts(settings),
    )
