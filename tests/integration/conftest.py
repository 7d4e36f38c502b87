"""Integration fixtures: the functions as Lambda runs them, on moto in process."""

import pytest
from integration_support import DynamoFaults

from bonus_engine.storage.dynamo import Table
from bonus_engine.storage.engagement_store import EngagementStore
from bonus_engine.storage.rejections_store import RejectionStore
from bonus_local.emulator import Emulation
from bonus_local.lambda_runtime import LocalFunction
from bonus_local.pipeline import LocalPipeline


@pytest.fixture
def ingest(pipeline: LocalPipeline) -> LocalFunction:
    return pipeline.functions["IngestEngagementFunction"]


@pytest.fixture
def engagement_store(emulation: Emulation) -> EngagementStore:
    return EngagementStore(Table(emulation.dynamodb, emulation.table_name("EngagementTable")))


@pytest.fixture
def rejection_store(emulation: Emulation) -> RejectionStore:
    return RejectionStore(Table(emulation.dynamodb, emulation.table_name("RejectionsTable")))


@pytest.fixture
def dynamo_faults(pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch) -> DynamoFaults:
    return DynamoFaults(monkeypatch)
