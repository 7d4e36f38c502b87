"""The payout bucket (SPEC section 8) on moto, provisioned from template.yaml: encrypted
with the template's KMS key, versioned, public access blocked; each payout file written
once, the same bytes accepted again, other bytes refused, and the previous revision's
amounts read back."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from bonus_engine.money import format_minor
from bonus_engine.payout_export import ExportedAmount, PayoutExport, build_payout_export
from bonus_engine.periods import Period
from bonus_engine.statements import Breakdown, StatementRevision
from bonus_engine.storage.export_store import ExportConflict, ExportStore
from bonus_local.emulator import Emulation
from bonus_local.replay import PAYOUT_BUCKET, copy_payouts

PROGRAM = "spring-bonus"
PERIOD = Period(2026, 3)
RULES_HASH = "sha256:" + "cd" * 32


def statement(creator_id: str, market: str, amount_minor: int, revision: int) -> StatementRevision:
    return StatementRevision(
        creator_id=creator_id,
        program_id=PROGRAM,
        period=PERIOD.name,
        market=market,
        currency="USD",
        eligible=True,
        reasons=[],
        points="0",
        qualifying_posts=0,
        rules_hash=RULES_HASH,
        breakdown=Breakdown(by_format={}, by_metric={}, post_adjustments="0", by_post=[]),
        amount=format_minor(amount_minor, "USD"),
        amount_minor=amount_minor,
        flags=[],
        explanation=[],
        revision=revision,
    )


@pytest.fixture
def emulated(aws: None) -> Iterator[Emulation]:
    with Emulation(in_process=True) as emulation:
        yield emulation


@pytest.fixture
def store(emulated: Emulation) -> ExportStore:
    return ExportStore(emulated.s3, emulated.bucket_name(PAYOUT_BUCKET))


def previous_amounts(store: ExportStore, revision: int) -> dict[str, ExportedAmount]:
    """What the latest exported revision before `revision` paid, as the finishing task
    reads it (a line at a time from a temporary copy)."""
    with ExitStack() as files:
        return dict(store.previous_paid(PROGRAM, PERIOD, revision, files))


def revision_export(revision: int, amounts: dict[str, int], store: ExportStore) -> PayoutExport:
    statements = [statement(creator, "US", amount, revision) for creator, amount in amounts.items()]
    previous = previous_amounts(store, revision)
    return build_payout_export(PROGRAM, PERIOD, revision, RULES_HASH, statements, previous)


def test_the_emulation_provisions_the_bucket_as_the_template_declares(
    emulated: Emulation,
) -> None:
    # Given the emulation provisioned from template.yaml
    s3, kms = emulated.s3, emulated.kms
    bucket = emulated.bucket_name(PAYOUT_BUCKET)

    # Then the bucket is encrypted by default with the template's KMS key (rotated)
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    default = rule["ApplyServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    key = kms.describe_key(KeyId=default["KMSMasterKeyID"])["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER"
    assert key["Enabled"]
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]
    assert rule["BucketKeyEnabled"] is True
    # And versioned, with every public access blocked, owned by the bucket owner
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_provisioning_twice_changes_nothing(emulated: Emulation) -> None:
    # Given a provisioned emulation / When it is provisioned again
    keys_before = emulated.kms.list_keys()["Keys"]
    emulated.provision()

    # Then no second key exists and the bucket is still there
    assert emulated.kms.list_keys()["Keys"] == keys_before
    assert emulated.s3.head_bucket(Bucket=emulated.bucket_name(PAYOUT_BUCKET))


def test_a_revision_is_written_as_a_csv_and_a_manifest_encrypted_with_the_key(
    emulated: Emulation, store: ExportStore
) -> None:
    # Given revision 1 / When written
    export = revision_export(1, {"alice": 1000}, store)
    store.write(export)

    # Then both objects hold the export's bytes, under the bucket's KMS key
    s3, bucket = emulated.s3, store.bucket
    for key, body in (
        (export.csv_key, export.csv_bytes),
        (export.manifest_key, export.manifest_bytes),
    ):
        stored = s3.get_object(Bucket=bucket, Key=key)
        assert stored["Body"].read() == body
        assert stored["ServerSideEncryption"] == "aws:kms"
        assert emulated.kms.describe_key(KeyId=stored["SSEKMSKeyId"])["KeyMetadata"]["Enabled"]


def test_writing_the_same_revision_again_is_accepted_and_changes_nothing(
    emulated: Emulation, store: ExportStore
) -> None:
    # Given revision 1 written
    export = revision_export(1, {"alice": 1000}, store)
    store.write(export)

    # When it is written again (a redelivered run)
    store.write(export)

    # Then each object still has one version: nothing was rewritten
    versions = emulated.s3.list_object_versions(Bucket=store.bucket)["Versions"]
    assert sorted(v["Key"] for v in versions) == sorted([export.csv_key, export.manifest_key])


def test_other_bytes_for_a_written_revision_are_refused(
    emulated: Emulation, store: ExportStore
) -> None:
    # Given revision 1 written
    store.write(revision_export(1, {"alice": 1000}, store))

    # When revision 1 comes again with another amount
    other = revision_export(1, {"alice": 2000}, store)

    # Then it is refused, and the stored file is unchanged
    with pytest.raises(ExportConflict):
        store.write(other)
    stored = emulated.s3.get_object(Bucket=store.bucket, Key=other.csv_key)["Body"].read()
    assert b"alice,US,USD,1000," in stored


def test_the_previous_revisions_amounts_are_read_back(store: ExportStore) -> None:
    # Given no revision exported yet / Then there are no previous amounts
    assert previous_amounts(store, 1) == {}

    # Given revision 1 paid alice and bob
    store.write(revision_export(1, {"alice": 1000, "bob": 250}, store))

    # When revision 2 asks / Then it reads revision 1's amounts
    assert previous_amounts(store, 2) == {
        "alice": ExportedAmount("US", "USD", 1000),
        "bob": ExportedAmount("US", "USD", 250),
    }


def test_deltas_follow_on_from_the_latest_exported_revision(store: ExportStore) -> None:
    # Given revisions 1 and 3 exported (2 never was), and 1 and 3 paid alice differently
    store.write(revision_export(1, {"alice": 1000}, store))
    store.write(revision_export(3, {"alice": 400}, store))

    # When revision 4 asks for its previous amounts / Then they are revision 3's
    assert previous_amounts(store, 4) == {"alice": ExportedAmount("US", "USD", 400)}
    # And revision 2, written late, still follows on from revision 1
    assert previous_amounts(store, 2)["alice"].amount_minor == 1000


def test_replay_copies_the_periods_payout_files_under_their_keys(
    emulated: Emulation, store: ExportStore, tmp_path: Path
) -> None:
    # Given two revisions of 2026-03 and one of another period
    first = revision_export(1, {"alice": 1000}, store)
    second = revision_export(2, {"alice": 0}, store)
    store.write(first)
    store.write(second)
    april = build_payout_export(
        PROGRAM, Period(2026, 4), 1, RULES_HASH, [], {"zed": ExportedAmount("US", "USD", 1)}
    )
    store.write(april)

    # When copied into a directory
    copied = copy_payouts(emulated, tmp_path, PROGRAM, PERIOD)

    # Then the period's four files are there, byte for byte, under the same keys
    assert copied == 4
    for export in (first, second):
        assert (tmp_path / export.csv_key).read_bytes() == export.csv_bytes
        assert (tmp_path / export.manifest_key).read_bytes() == export.manifest_bytes
    assert not (tmp_path / april.csv_key).exists()
