"""The identifiers the contract defines, validated once, before they reach a key.

Every id that becomes part of a DynamoDB key passes one of these patterns, none of which
admits `#`, the key separator: an id can never forge another key.
"""

import re
from typing import Annotated

from pydantic import StringConstraints

EVENT_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
CREATOR_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
POST_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
PROGRAM_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
STRIKE_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"

EventId = Annotated[str, StringConstraints(pattern=EVENT_ID_PATTERN, strict=True)]
CreatorId = Annotated[str, StringConstraints(pattern=CREATOR_ID_PATTERN, strict=True)]
PostId = Annotated[str, StringConstraints(pattern=POST_ID_PATTERN, strict=True)]
ProgramId = Annotated[str, StringConstraints(pattern=PROGRAM_ID_PATTERN, strict=True)]
StrikeId = Annotated[str, StringConstraints(pattern=STRIKE_ID_PATTERN, strict=True)]
CountryCode = Annotated[str, StringConstraints(pattern=COUNTRY_PATTERN, strict=True)]

_PATTERNS = {
    "event_id": re.compile(EVENT_ID_PATTERN),
    "creator_id": re.compile(CREATOR_ID_PATTERN),
    "post_id": re.compile(POST_ID_PATTERN),
    "program_id": re.compile(PROGRAM_ID_PATTERN),
    "run_id": re.compile(r"^[A-Za-z0-9._:-]{1,128}$"),  # the engine's own (run_id_for)
}


def require_id(kind: str, value: str) -> str:
    """Return `value` if it is a valid id of `kind`; raise ValueError otherwise."""
    if not _PATTERNS[kind].fullmatch(value):
        raise ValueError(f"not a valid {kind}: {value!r}")
    return value
