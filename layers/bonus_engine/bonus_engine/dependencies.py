"""What each function is wired to, built from its settings once per container.

Each factory imports what its function uses, when it is first called (its settings and
stores too): the ingestion function never imports the computation, and a cold start pays
only for its own code.
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from bonus_engine import aws_clients

if TYPE_CHECKING:
    from bonus_engine.bonus_run import RunContext
    from bonus_engine.creator_api import ApiContext
    from bonus_engine.messaging import EventPublisher
    from bonus_engine.program_rules import LoadedProgram
    from bonus_engine.storage.dynamo import Table
    from bonus_engine.storage.engagement_store import EngagementStore
    from bonus_engine.storage.facts_store import FactsStore
    from bonus_engine.storage.rejections_store import RejectionStore


@dataclass(frozen=True)
class IngestDependencies:
    engagement: "EngagementStore"
    rejections: "RejectionStore"


@dataclass(frozen=True)
class FactDependencies:
    programs: "dict[str, LoadedProgram]"
    facts: "FactsStore"
    rejections: "RejectionStore"
    publisher: "EventPublisher"
    recompute_window_months: int


def _table(name: str) -> "Table":
    from bonus_engine.storage.dynamo import Table

    return Table(aws_clients.dynamodb(), name)


@cache
def for_ingestion() -> IngestDependencies:
    from bonus_engine.settings import IngestSettings
    from bonus_engine.storage.engagement_store import EngagementStore
    from bonus_engine.storage.rejections_store import RejectionStore

    settings = IngestSettings.from_environment()
    return IngestDependencies(
        engagement=EngagementStore(_table(settings.engagement_table), settings.retention_days),
        rejections=RejectionStore(_table(settings.rejections_table)),
    )


@cache
def for_eligibility() -> FactDependencies:
    from bonus_engine.messaging import EventPublisher
    from bonus_engine.settings import EligibilitySettings, programs_in
    from bonus_engine.storage.facts_store import FactsStore
    from bonus_engine.storage.rejections_store import RejectionStore

    settings = EligibilitySettings.from_environment()
    return FactDependencies(
        programs=programs_in(settings.program_rules_dir),
        facts=FactsStore(_table(settings.facts_table)),
        rejections=RejectionStore(_table(settings.rejections_table)),
        publisher=EventPublisher(aws_clients.events(), settings.event_bus_name),
        recompute_window_months=settings.recompute_window_months,
    )


@cache
def for_coordinator() -> tuple["RunContext", int]:
    """The coordinator's context, and its recompute window in months."""
    from bonus_engine.bonus_run import RunContext
    from bonus_engine.messaging import TaskQueue
    from bonus_engine.settings import CoordinatorSettings, programs_in
    from bonus_engine.storage.engagement_store import EngagementStore
    from bonus_engine.storage.facts_store import FactsStore
    from bonus_engine.storage.results_store import ResultsStore

    settings = CoordinatorSettings.from_environment()
    context = RunContext(
        programs=programs_in(settings.program_rules_dir),
        engagement=EngagementStore(_table(settings.engagement_table)),
        facts=FactsStore(_table(settings.facts_table)),
        rejections=None,
        results=ResultsStore(_table(settings.results_table)),
        tasks=TaskQueue(aws_clients.sqs(), settings.compute_queue_url),
        publisher=None,
        buckets_per_task=settings.buckets_per_task,
        retention_days=settings.retention_days,
        provisional_every=timedelta(hours=settings.provisional_every_hours),
        creators_per_task=settings.creators_per_task,
    )
    return context, settings.recompute_window_months


@cache
def for_shards() -> "RunContext":
    from bonus_engine.bonus_run import RunContext
    from bonus_engine.messaging import ANNOUNCE_IN_FLIGHT, EventPublisher, TaskQueue
    from bonus_engine.settings import ShardSettings, programs_in
    from bonus_engine.storage.engagement_store import EngagementStore
    from bonus_engine.storage.export_store import ExportStore
    from bonus_engine.storage.facts_store import FactsStore
    from bonus_engine.storage.rejections_store import RejectionStore
    from bonus_engine.storage.results_store import ResultsStore

    settings = ShardSettings.from_environment()
    return RunContext(
        programs=programs_in(settings.program_rules_dir),
        engagement=EngagementStore(_table(settings.engagement_table)),
        facts=FactsStore(_table(settings.facts_table)),
        rejections=RejectionStore(_table(settings.rejections_table)),
        results=ResultsStore(_table(settings.results_table)),
        tasks=TaskQueue(aws_clients.sqs(), settings.compute_queue_url),
        publisher=EventPublisher(
            aws_clients.events(), settings.event_bus_name, in_flight=ANNOUNCE_IN_FLIGHT
        ),
        buckets_per_task=settings.buckets_per_task,
        retention_days=settings.retention_days,
        exports=ExportStore(aws_clients.s3(), settings.payout_bucket_name),
    )


@cache
def for_api() -> "ApiContext":
    from bonus_engine.creator_api import ApiContext, ComputeRequests
    from bonus_engine.settings import ApiSettings, programs_in
    from bonus_engine.storage.engagement_store import EngagementStore
    from bonus_engine.storage.facts_store import FactsStore
    from bonus_engine.storage.rejections_store import RejectionStore
    from bonus_engine.storage.results_store import ResultsStore

    settings = ApiSettings.from_environment()
    return ApiContext(
        programs=programs_in(settings.program_rules_dir),
        facts=FactsStore(_table(settings.facts_table)),
        engagement=EngagementStore(_table(settings.engagement_table)),
        results=ResultsStore(_table(settings.results_table)),
        rejections=RejectionStore(_table(settings.rejections_table)),
        compute_requests=ComputeRequests(aws_clients.events(), settings.event_bus_name),
        retention_days=settings.retention_days,
    )


def forget() -> None:
    """Drop what was built (tests build each emulation afresh)."""
    from bonus_engine.settings import programs_in

    for factory in (for_ingestion, for_eligibility, for_coordinator, for_shards, for_api):
        factory.cache_clear()
    programs_in.cache_clear()
    aws_clients.forget_clients()
