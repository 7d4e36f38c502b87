"""Who may read what through the creator and operator API (SPEC section 7): pure.

API Gateway's JWT authorizer has validated the token; the function receives its claims.
A creator's token has `sub` = their creator_id and may read only their own paths (another
creator's path is answered exactly as a creator that does not exist); an operator's
token has the scope `bonus/operate` and may read everything.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OPERATE_SCOPE = "bonus/operate"


class ApiError(Exception):
    """A refusal with its HTTP status and error code; `values` fill the message."""

    def __init__(self, status: int, code: str, **values: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.values = values


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized")


def forbidden() -> ApiError:
    return ApiError(403, "forbidden")


def not_found() -> ApiError:
    """The one answer for a missing creator, another creator's path, a missing program,
    statement or summary: nothing tells them apart."""
    return ApiError(404, "not_found")


@dataclass(frozen=True)
class Caller:
    subject: str | None  # a creator token's creator_id
    operator: bool


def caller_from_claims(claims: Mapping[str, Any] | None) -> Caller:
    """The caller the validated token's claims describe; 401 when there are none."""
    if not claims:
        raise unauthorized()
    subject = claims.get("sub")
    operator = OPERATE_SCOPE in _scopes(claims.get("scope"))
    if not operator and not (isinstance(subject, str) and subject):
        raise unauthorized()
    return Caller(
        subject=subject if isinstance(subject, str) and subject else None, operator=operator
    )


def _scopes(value: Any) -> set[str]:
    """`scope` is space separated; API Gateway may pass a list as `[a b]`."""
    if isinstance(value, list):
        return {str(item) for item in value}
    if isinstance(value, str):
        return set(value.strip("[]").replace(",", " ").split())
    return set()


def require_operator(caller: Caller) -> None:
    if not caller.operator:
        raise forbidden()


def require_reader_of(caller: Caller, creator_id: str) -> None:
    """A creator reads only their own paths; operators read every creator's."""
    if not caller.operator and caller.subject != creator_id:
        raise not_found()
