"""Each function's configuration: environment variables, read through one pydantic model
per function, validated once, with an error that names what is missing."""

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from bonus_engine.program_rules import LoadedProgram


class ConfigurationError(RuntimeError):
    pass


class _Settings(BaseModel):
    # defer_build: a function reads one of these models; the others are never built.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)

    @classmethod
    def from_environment(cls) -> Self:
        try:
            return cls.model_validate(dict(os.environ))
        except ValidationError as error:
            problems = []
            for item in error.errors(include_url=False, include_input=False):
                name = ".".join(str(part) for part in item["loc"])
                problems.append(
                    f"environment variable {name} is missing"
                    if item["type"] == "missing"
                    else f"environment variable {name}: {item['msg']}"
                )
            raise ConfigurationError("; ".join(problems)) from None


class IngestSettings(_Settings):
    engagement_table: str = Field(alias="ENGAGEMENT_TABLE_NAME", min_length=1)
    rejections_table: str = Field(alias="REJECTIONS_TABLE_NAME", min_length=1)
    retention_days: int = Field(alias="ENGAGEMENT_RETENTION_DAYS", ge=30, le=3650)


class EligibilitySettings(_Settings):
    facts_table: str = Field(alias="FACTS_TABLE_NAME", min_length=1)
    rejections_table: str = Field(alias="REJECTIONS_TABLE_NAME", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    program_rules_dir: Path = Field(alias="PROGRAM_RULES_DIR")
    recompute_window_months: int = Field(alias="RECOMPUTE_WINDOW_MONTHS", ge=1, le=12)


class CoordinatorSettings(_Settings):
    engagement_table: str = Field(alias="ENGAGEMENT_TABLE_NAME", min_length=1)
    facts_table: str = Field(alias="FACTS_TABLE_NAME", min_length=1)
    results_table: str = Field(alias="RESULTS_TABLE_NAME", min_length=1)
    compute_queue_url: str = Field(alias="COMPUTE_QUEUE_URL", min_length=1)
    buckets_per_task: int = Field(alias="BUCKETS_PER_TASK", ge=1, le=64)
    creators_per_task: int = Field(alias="CREATORS_PER_TASK", ge=1, le=1_000_000)
    program_rules_dir: Path = Field(alias="PROGRAM_RULES_DIR")
    recompute_window_months: int = Field(alias="RECOMPUTE_WINDOW_MONTHS", ge=1, le=12)
    retention_days: int = Field(alias="ENGAGEMENT_RETENTION_DAYS", ge=30, le=3650)
    provisional_every_hours: int = Field(alias="PROVISIONAL_EVERY_HOURS", ge=1, le=744)


class ShardSettings(_Settings):
    engagement_table: str = Field(alias="ENGAGEMENT_TABLE_NAME", min_length=1)
    facts_table: str = Field(alias="FACTS_TABLE_NAME", min_length=1)
    rejections_table: str = Field(alias="REJECTIONS_TABLE_NAME", min_length=1)
    results_table: str = Field(alias="RESULTS_TABLE_NAME", min_length=1)
    compute_queue_url: str = Field(alias="COMPUTE_QUEUE_URL", min_length=1)
    buckets_per_task: int = Field(alias="BUCKETS_PER_TASK", ge=1, le=64)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    program_rules_dir: Path = Field(alias="PROGRAM_RULES_DIR")
    retention_days: int = Field(alias="ENGAGEMENT_RETENTION_DAYS", ge=30, le=3650)
    payout_bucket_name: str = Field(alias="PAYOUT_BUCKET_NAME", min_length=1)


class ApiSettings(_Settings):
    """The creator and operator API: it reads every table but the engagement queue's, and
    puts compute requests on the bus."""

    engagement_table: str = Field(alias="ENGAGEMENT_TABLE_NAME", min_length=1)
    facts_table: str = Field(alias="FACTS_TABLE_NAME", min_length=1)
    rejections_table: str = Field(alias="REJECTIONS_TABLE_NAME", min_length=1)
    results_table: str = Field(alias="RESULTS_TABLE_NAME", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    program_rules_dir: Path = Field(alias="PROGRAM_RULES_DIR")
    retention_days: int = Field(alias="ENGAGEMENT_RETENTION_DAYS", ge=30, le=3650)


@cache
def programs_in(directory: Path) -> "dict[str, LoadedProgram]":
    """The deployed programs, loaded once per container (from the rules layer)."""
    from bonus_engine.program_rules import load_programs

    return load_programs(directory)
