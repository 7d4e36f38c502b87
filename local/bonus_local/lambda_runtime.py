"""Functions run in this process as Lambda would run them: the handler template.yaml
names, its environment, a Lambda context, and its output kept apart from ours."""

import importlib.util
import io
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TextIO

from bonus_local.template import ACCOUNT_ID, REGION, FunctionSpec


class FunctionOutput(io.TextIOBase):
    """Where the functions' logs and metrics go: discarded, or a stream (e.g. stderr).
    Powertools binds its log stream when a handler module is imported; this stands in
    for it so that the destination can change later."""

    def __init__(self, target: TextIO | None = None) -> None:
        self.target = target

    def write(self, text: str) -> int:
        if self.target is not None:
            self.target.write(text)
        return len(text)

    def flush(self) -> None:
        if self.target is not None:
            self.target.flush()


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = ""
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


class LocalFunction:
    def __init__(self, spec: FunctionSpec, environment: dict[str, str], output: FunctionOutput):
        self.spec = spec
        self.environment = environment
        self.output = output
        self._handler: Callable[[Any, Any], Any] | None = None
        self.invocations = 0

    def invoke(self, event: Any) -> Any:
        self.invocations += 1
        context = LambdaContext(
            function_name=self.spec.logical_id,
            memory_limit_in_mb=self.spec.memory_size,
            timeout_seconds=self.spec.timeout,
            aws_request_id=str(uuid.uuid4()),
        )
        with self._environment(), redirect_stdout(self.output):
            return self.handler(event, context)

    @property
    def handler(self) -> Callable[[Any, Any], Any]:
        if self._handler is None:
            with self._environment(), redirect_stdout(self.output):
                module = load_handler_module(self.spec)
            self._handler = getattr(module, self.spec.handler.rsplit(".", 1)[1])
        return self._handler

    @contextmanager
    def _environment(self) -> Iterator[None]:
        """The function's environment for the call, and ours again after it, whatever
        the call changed (only the variables that differ are set or removed: each one is
        a call to the C library)."""
        environ = os.environ
        saved = dict(environ)
        environ.update({k: v for k, v in self.environment.items() if saved.get(k) != v})
        try:
            yield
        finally:
            current = dict(environ)
            for name in current.keys() - saved.keys():
                del environ[name]
            for name, value in saved.items():
                if current.get(name) != value:
                    environ[name] = value


def load_handler_module(spec: FunctionSpec) -> ModuleType:
    """Import the function's handler module from its CodeUri, under a name of its own
    (every function's module is `app`)."""
    module_file, _ = spec.handler.rsplit(".", 1)
    path = spec.code_uri / f"{module_file.replace('.', '/')}.py"
    name = f"function_{spec.logical_id}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module
