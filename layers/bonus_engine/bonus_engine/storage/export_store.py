"""The payout files in the payout bucket (SPEC section 8): each revision's CSV and
manifest, each object written once and never changed.

Objects take the bucket's default encryption (SSE-KMS with the template's key); no ACL
is sent (the bucket enforces bucket-owner ownership). ClientError codes become typed
errors, as in `storage/dynamo.py`; nothing decides by a message's text.
"""

import hashlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from typing import IO, TYPE_CHECKING

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from bonus_engine.payout_export import (
    SPOOL_BYTES,
    ExportedAmount,
    PayoutExport,
    csv_revision,
    fragment_key,
    payout_csv_key,
    payouts_prefix,
    read_payout_csv,
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
_CHUNK = 1024 * 1024
# A run's fragments are all open at once during the merge: each stays in memory up to
# this size, then goes to the function's /tmp (256 fragments: 64 MB in memory at most).
FRAGMENT_SPOOL_BYTES = 256 * 1024
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

    def previous_paid(
        self, program_id: str, period: Period, revision: int, files: ExitStack
    ) -> Iterator[tuple[str, ExportedAmount]]:
        """The paid creators of the latest exported revision before `revision`, sorted by
        creator_id and read a line at a time from a temporary copy (closed with `files`):
        a ListObjectsV2 of the period's prefix, then one GetObject; nothing when none was
        exported (the first revision). A revision whose export failed is skipped, so that
        the deltas always follow on from a file finance has."""
        if revision <= 1:
            return iter(())
        earlier = [
            number for number in self._exported_revisions(program_id, period) if number < revision
        ]
        if not earlier:
            return iter(())
        copy = self._download(payout_csv_key(program_id, period, max(earlier)), files)
        return iter(()) if copy is None else read_payout_csv(copy)

    def write(self, export: PayoutExport) -> None:
        """Put the CSV, then the manifest (a manifest always describes a stored CSV)."""
        self._put_once(
            export.csv_key, export.csv_file, export.csv_sha256, "text/csv; charset=utf-8"
        )
        manifest = export.manifest_bytes
        self._put_once(
            export.manifest_key, manifest, hashlib.sha256(manifest).hexdigest(), "application/json"
        )

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
        self,
        program_id: str,
        period: Period,
        run_id: str,
        shards: Sequence[int],
        files: ExitStack,
    ) -> list[IO[bytes]]:
        """The fragments of the shards, in order, each a temporary copy (closed with
        `files`) to read a line at a time; a missing one is a transient error (the run is
        finished only once every issue task stored its fragment)."""
        copies = []
        for shard in shards:
            key = fragment_key(program_id, period, run_id, shard)
            copy = self._download(key, files, FRAGMENT_SPOOL_BYTES)
            if copy is None:
                raise TransientStorageError(f"fragment of shard {shard} of {run_id} missing")
            copies.append(copy)
        return copies

    # --- S3 calls ------------------------------------------------------------------------

    def _put_once(self, key: str, body: bytes | IO[bytes], sha256: str, content_type: str) -> None:
        """Conditional put (`If-None-Match: *`): written once. Finding the object there
        already (a redelivered run), identical bytes (by SHA-256) are accepted, other
        bytes refused. A file body is streamed from its start."""
        try:
            if not isinstance(body, bytes):
                body.seek(0)
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
        with ExitStack() as files:
            stored = self._download(key, files)
            if stored is None:  # deleted between the two calls: only an operator does that
                raise TransientStorageError(f"{key} vanished after a failed precondition")
            digest = hashlib.sha256()
            for chunk in iter(lambda: stored.read(_CHUNK), b""):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            raise ExportConflict(f"{key} exists with other bytes")

    def _download(
        self, key: str, files: ExitStack, in_memory_up_to: int = SPOOL_BYTES
    ) -> IO[bytes] | None:
        """The object copied into a temporary file (in memory up to `in_memory_up_to`
        bytes), at its start; None when there is none."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            spooled = tempfile.SpooledTemporaryFile(max_size=in_memory_up_to)  # noqa: SIM115
            copy = files.enter_context(spooled)  # closed with `files`
            shutil.copyfileobj(response["Body"], copy, _CHUNK)
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise translate(error) from error
        except (ConnectionError, HTTPClientError) as error:
            raise TransientStorageError(type(error).__name__) from error
        copy.seek(0)
        return copy

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
