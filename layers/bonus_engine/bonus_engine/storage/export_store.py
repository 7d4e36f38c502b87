"""The payout files in the payout bucket (SPEC section 8): each revision's CSV and
manifest, each object written once and never changed.

Objects take the bucket's default encryption (SSE-KMS with the template's key); no ACL
is sent (the bucket enforces bucket-owner ownership). ClientError codes become typed
errors, as in `storage/dynamo.py`; nothing decides by a message's text.
"""

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from bonus_engine.payout_export import (
    ExportedAmount,
    PayoutExport,
    csv_revision,
    fragment_key,
    parse_payout_csv,
    payout_csv_key,
    payouts_prefix,
)
from bonus_engine.periods import Period
from bonus_engine.storage.dynamo import StorageError, TransientStorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_TRANSIENT = {
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "ConditionalRequestConflict",  # a concurrent conditional write of the same key: retry
    "KMS.ThrottlingException",
    "KMS.KMSInternalException",
}
_MISSING = {"NoSuchKey", "404", "NotFound"}
_EXISTS = {"PreconditionFailed", "412"}


class ExportConflict(StorageError):
    """A payout object exists with other bytes: the same revision must always give the
    same bytes, so something computed it from other inputs. Nothing is overwritten."""


def translate(error: ClientError) -> StorageError:
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in _TRANSIENT or status >= 500:
        return TransientStorageError(code or str(status))
    return StorageError(code or str(status))


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


class ExportStore:
    def __init__(self, client: "S3Client", bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def previous_amounts(
        self, program_id: str, period: Period, revision: int
    ) -> dict[str, ExportedAmount]:
        """The amounts of the latest exported revision before `revision` (a ListObjectsV2
        of the period's prefix, then one GetObject); {} when none was exported (the first
        revision). A revision whose export failed is skipped, so that the deltas always
        follow on from a file finance has."""
        if revision <= 1:
            return {}
        earlier = [
            number for number in self._exported_revisions(program_id, period) if number < revision
        ]
        if not earlier:
            return {}
        data = self._get(payout_csv_key(program_id, period, max(earlier)))
        return {} if data is None else parse_payout_csv(data)

    def write(self, export: PayoutExport) -> None:
        """Put the CSV, then the manifest (a manifest always describes a stored CSV)."""
        self._put_once(export.csv_key, export.csv_bytes, "text/csv; charset=utf-8")
        self._put_once(export.manifest_key, export.manifest_bytes, "application/json")

    def put_fragment(
        self, program_id: str, period: Period, run_id: str, shard: int, data: bytes
    ) -> None:
        """A shard's fragment of the run's payout file. A redelivered issue task puts the
        same bytes again (its inputs are the run's own drafts and settlement)."""
        key = fragment_key(program_id, period, run_id, shard)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="text/csv")
        except ClientError as error:
            raise translate(error) from error
        except (ConnectionError, HTTPClientError) as error:
            raise TransientStorageError(type(error).__name__) from error

    def fragments(
        self, program_id: str, period: Period, run_id: str, shards: Sequence[int]
    ) -> Iterator[bytes]:
        """The fragments of the shards, in order; a missing one is a transient error (the
        run is finished only once every issue task stored its fragment)."""
        for shard in shards:
            data = self._get(fragment_key(program_id, period, run_id, shard))
            if data is None:
                raise TransientStorageError(f"fragment of shard {shard} of {run_id} missing")
            yield data

    # --- S3 calls ------------------------------------------------------------------------

    def _put_once(self, key: str, body: bytes, content_type: str) -> None:
        """Conditional put (`If-None-Match: *`): written once. Finding the object there
        already (a redelivered run), identical bytes are accepted, other bytes refused."""
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                IfNoneMatch="*",
            )
            return
        except ClientError as error:
            if _code(error) not in _EXISTS:
                raise translate(error) from error
        except (ConnectionError, HTTPClientError) as error:
            raise TransientStorageError(type(error).__name__) from error
        stored = self._get(key)
        if stored is None:  # deleted between the two calls: only an operator does that
            raise TransientStorageError(f"{key} vanished after a failed precondition")
        if stored != body:
            raise ExportConflict(f"{key} exists with other bytes")

    def _get(self, key: str) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return response["Body"].read()
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise translate(error) from error
        except (ConnectionError, HTTPClientError) as error:
            raise TransientStorageError(type(error).__name__) from error

    def _exported_revisions(self, program_id: str, period: Period) -> list[int]:
        prefix = payouts_prefix(program_id, period)
        revisions = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix + "revision-"
            )
            for page in pages:
                for item in page.get("Contents", []):
                    number = csv_revision(item.get("Key", ""), program_id, period)
                    if number is not None:
                        revisions.append(number)
        except ClientError as error:
            raise translate(error) from error
        except (ConnectionError, HTTPClientError) as error:
            raise TransientStorageError(type(error).__name__) from error
        return revisions
