"""`bonus api` and `bonus token`: the creator and operator API, served locally.

`bonus api` plays API Gateway's part for CreatorApiFunction: it checks the bearer token
(HS256, signed with a local development key that is never valid in AWS, issuer and
audience the template's defaults), turns each request into the HTTP API's payload
format 2.0 event (the token's claims in `requestContext.authorizer.jwt.claims`, as API
Gateway passes them once it has validated the token) and invokes the handler the
template names, in this process, against the emulation. The routes are those of the
function's `HttpApi` events in template.yaml. After an accepted compute request it lets
the local pipeline deliver what follows, so the run completes before the response.

`bonus token --creator ID | --operator` prints a token this server accepts.
"""

import argparse
import json
import re
import shutil
import signal
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jwt
import yaml

from bonus_engine.program_rules import ProgramRulesError, load_program_rules
from bonus_local.emulator import Emulation
from bonus_local.lambda_runtime import FunctionOutput, LocalFunction
from bonus_local.pipeline import LocalPipeline
from bonus_local.template import ACCOUNT_ID, REPOSITORY, TEMPLATE_PATH, Template
from bonus_local.template import _CfnLoader as CfnLoader

API_FUNCTION = "CreatorApiFunction"
PROGRAMS_DIR = REPOSITORY / "layers" / "program_rules" / "programs"
# A development key: tokens signed with it are accepted by `bonus api` only. API Gateway
# validates real tokens against the identity provider's published keys (JwtIssuer).
LOCAL_DEVELOPMENT_SECRET = "bonus-local-development-key-never-valid-in-aws"  # noqa: S105
ALGORITHM = "HS256"
OPERATE_SCOPE = "bonus/operate"
TOKEN_HOURS = 12


def _template_defaults() -> dict[str, str]:
    document = yaml.load(TEMPLATE_PATH.read_text(), Loader=CfnLoader)  # noqa: S506 (safe)
    return {
        name: str(spec.get("Default", "")) for name, spec in document.get("Parameters", {}).items()
    }


@dataclass(frozen=True)
class TokenSettings:
    issuer: str
    audience: str

    @classmethod
    def from_template(cls) -> "TokenSettings":
        defaults = _template_defaults()
        return cls(issuer=defaults["JwtIssuer"], audience=defaults["JwtAudience"])


def issue_token(
    settings: TokenSettings,
    creator: str | None = None,
    operator: bool = False,
    now: datetime | None = None,
) -> str:
    """A bearer token for the local server: `sub` = the creator, or the operate scope."""
    issued = int((now or datetime.now(UTC)).timestamp())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "iat": issued,
        "exp": issued + TOKEN_HOURS * 3600,
        "jti": uuid.uuid4().hex,
    }
    if creator is not None:
        claims["sub"] = creator
    if operator:
        claims["sub"] = claims.get("sub", "local-operator")
        claims["scope"] = OPERATE_SCOPE
    return jwt.encode(claims, LOCAL_DEVELOPMENT_SECRET, algorithm=ALGORITHM)


def verify_token(settings: TokenSettings, authorization: str | None) -> dict[str, str] | None:
    """The claims of a valid `Bearer` token, as strings (as API Gateway passes them);
    None for a missing, malformed, expired or foreign token."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        claims = jwt.decode(
            token.strip(),
            LOCAL_DEVELOPMENT_SECRET,
            algorithms=[ALGORITHM],
            audience=settings.audience,
            issuer=settings.issuer,
            options={"require": ["exp", "iat", "iss", "aud"]},
        )
    except jwt.PyJWTError:
        return None
    return {name: _claim_text(value) for name, value in claims.items()}


def _claim_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    return str(value)


# --- routes and events ---------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in template.yaml: /programs/{program_id}/criteria
    pattern: re.Pattern[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def api_routes(template: Template) -> list[Route]:
    """The routes of the API function's HttpApi events in template.yaml."""
    routes = []
    for event in template.function(API_FUNCTION).events:
        if event.type != "HttpApi":
            continue
        path = str(event.properties["Path"])
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        routes.append(
            Route(str(event.properties["Method"]).upper(), path, re.compile(f"^{regex}$"))
        )
    return routes


def match_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        found = route.pattern.match(path)
        if found and route.method == method:
            return route, {name: unquote(value) for name, value in found.groupdict().items()}
    return None


def http_api_event(
    method: str,
    raw_path: str,
    route_key: str,
    path_parameters: Mapping[str, str],
    headers: Mapping[str, str],
    query: Mapping[str, str],
    body: str | None,
    claims: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The event the HTTP API gives its function (payload format 2.0)."""
    now = datetime.now(UTC)
    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": "local",
        "domainName": "localhost",
        "domainPrefix": "localhost",
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": uuid.uuid4().hex,
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": dict(claims), "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": request_context,
        "pathParameters": dict(path_parameters),
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if body is not None:
        event["body"] = body
    return event


# --- the server ----------------------------------------------------------------------


class LocalApi:
    """The API function on the emulation, one request at a time (a function's
    environment is process-wide while it runs)."""

    def __init__(self, emulation: Emulation, rules_dir: Path, output: FunctionOutput) -> None:
        self.pipeline = LocalPipeline(emulation, rules_dir, output)
        self.function: LocalFunction = self.pipeline.functions[API_FUNCTION]
        self.routes = api_routes(emulation.template)
        self.tokens = TokenSettings.from_template()
        self._lock = threading.Lock()

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: str | None
    ) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        lowered = {name.lower(): value for name, value in headers.items()}
        found = match_route(self.routes, method, parts.path)
        claims = verify_token(self.tokens, lowered.get("authorization"))
        if claims is None:  # API Gateway refuses before the function runs
            return _error(401, "unauthorized", "A valid bearer token is required.")
        if found is None:
            return _error(404, "not_found", "Nothing was found at this path.")
        route, parameters = found
        event = http_api_event(
            method, parts.path, route.key, parameters, lowered, query, body, claims
        )
        with self._lock:
            response = self.function.invoke(event)
            if method == "POST" and int(response.get("statusCode", 500)) == 202:
                self.pipeline.settle()  # deliver the request and run the computation
        return (
            int(response.get("statusCode", 500)),
            dict(response.get("headers") or {}),
            str(response.get("body") or ""),
        )


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], str]:
    body = json.dumps({"error": code, "message": message})
    return status, {"Content-Type": "application/json"}, body


def make_server(api: LocalApi, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else None
            try:
                status, headers, text = api.handle(
                    self.command, self.path, dict(self.headers.items()), body
                )
            except Exception as error:  # the emulation itself failed: say so, keep serving
                status, headers, text = _error(500, "internal", type(error).__name__)
            payload = text.encode()
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve  # noqa: N815
        do_POST = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: one line per request is noise in a terminal

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


# --- the commands --------------------------------------------------------------------


def register(
    subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add `api` and `token` to the command line; returns their handlers by name."""
    api_cmd = subparsers.add_parser("api", help="serve the creator and operator API locally")
    api_cmd.add_argument("--port", type=int, default=8080)
    api_cmd.add_argument("--endpoint", help="a running emulation (bonus emulator)")
    api_cmd.add_argument(
        "--program",
        action="append",
        type=Path,
        default=[],
        help="program rules YAML (repeatable; default: the deployed programs)",
    )
    api_cmd.add_argument("--verbose", action="store_true", help="show the function's logs")
    token_cmd = subparsers.add_parser("token", help="print a bearer token for `bonus api`")
    who = token_cmd.add_mutually_exclusive_group(required=True)
    who.add_argument("--creator", help="a creator's token: sub = this creator_id")
    who.add_argument("--operator", action="store_true", help="an operator's token")
    return {"api": run_api, "token": run_token}


def run_token(args: argparse.Namespace) -> int:
    print(issue_token(TokenSettings.from_template(), args.creator, args.operator))
    return 0


def run_api(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bonus-api-rules-") as directory:
        rules_dir = Path(directory)
        try:
            sources = args.program or sorted(PROGRAMS_DIR.glob("*.y*ml"))
            for source in sources:
                program = load_program_rules(source)
                shutil.copyfile(source, rules_dir / f"{program.rules.program_id}.yaml")
        except ProgramRulesError as error:
            print(f"bonus: {error}", file=sys.stderr)
            return 2
        with Emulation(endpoint=args.endpoint) as emulation:
            output = FunctionOutput(sys.stderr if args.verbose else None)
            api = LocalApi(emulation, rules_dir, output)
            server = make_server(api, args.port)
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            print(f"bonus api ready at http://127.0.0.1:{server.server_port}", flush=True)
            with suppress(KeyboardInterrupt):
                stop.wait()
            server.shutdown()
            server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m bonus_local.api_server api|token ...`: the two commands on their own."""
    parser = argparse.ArgumentParser(prog="bonus", description=__doc__.split("\n\n")[0])
    handlers = register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
