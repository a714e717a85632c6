"""A real gRPC server on 127.0.0.1 serving Google APIs from memory, for tests.

:class:`GoogleApiServer` hosts pluggable :class:`ProtoService` servicers in one grpcio
server (plaintext, or TLS with a certificate the caller makes). A servicer names its
gRPC service and its methods' request and response types (proto-plus or protobuf) and
implements each RPC as a method of the same name; messages cross the wire in the APIs'
real protobuf encoding, so the real Google client libraries talk to it unmodified.
Every servicer records its calls (method, request, metadata), can run a hook before a
method, and can be told to fail (a status code, with a google.rpc ``ErrorInfo`` reason
if wanted) or to be slow. See ``grafeas_server.GrafeasServicer`` for an example; Cloud
KMS and Binary Authorization servicers subclass :class:`ProtoService` the same way.

    >>> from google.protobuf.wrappers_pb2 import StringValue
    >>> class Echo(ProtoService):
    ...     service = "test.Echo"
    ...     methods = {"Get": (StringValue, StringValue)}
    ...     def Get(self, request: StringValue) -> StringValue:
    ...         return request
    >>> with GoogleApiServer() as server:
    ...     echo = server.add(Echo())
    ...     channel = grpc.insecure_channel(server.start().address)
    ...     get = channel.unary_unary(
    ...         "/test.Echo/Get", StringValue.SerializeToString, StringValue.FromString)
    ...     print(get(StringValue(value="hi"), timeout=5).value, len(echo.called("Get")))
    hi 1
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status  # type: ignore[import-untyped]

from gate.facts.google import GoogleEndpoint

S = TypeVar("S", bound="ProtoService")
Handler = Callable[[Any, grpc.ServicerContext], Any]


class Abort(Exception):
    """Raised by a servicer method: answer with ``code`` and ``message``."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Fault:
    code: grpc.StatusCode | None  # None: only delay
    message: str = ""
    reason: str = ""  # google.rpc.ErrorInfo reason, e.g. SERVICE_DISABLED
    delay: float = 0.0
    times: int = 1


@dataclass
class Call:
    method: str
    request: Any
    metadata: dict[str, str] = field(default_factory=dict)


def _codec(kind: Any) -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    if hasattr(kind, "deserialize"):  # proto-plus
        return kind.deserialize, kind.serialize
    return kind.FromString, lambda message: message.SerializeToString()


class ProtoService:
    """A gRPC service served from Python methods named like its RPCs."""

    service: ClassVar[str]
    methods: ClassVar[dict[str, tuple[Any, Any]]]  # RPC name -> (request, response) types

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.faults: dict[str, list[Fault]] = {}
        self.before: dict[str, Callable[[Any], None]] = {}  # hooks run before a method
        self.lock = threading.RLock()

    def fail(self, method: str, code: grpc.StatusCode | None, message: str = "", **kw: Any) -> None:
        """Make the next call(s) of ``method`` fail (see :class:`Fault`)."""
        self.faults.setdefault(method, []).append(Fault(code, message, **kw))

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def handler(self) -> grpc.GenericRpcHandler:
        handlers = {}
        for name, (request_type, response_type) in self.methods.items():
            decode, _ = _codec(request_type)
            _, encode = _codec(response_type)
            handlers[name] = grpc.unary_unary_rpc_method_handler(
                self._serve(name), request_deserializer=decode, response_serializer=encode
            )
        return grpc.method_handlers_generic_handler(self.service, handlers)

    def _serve(self, name: str) -> Handler:
        def serve(request: Any, context: grpc.ServicerContext) -> Any:
            metadata = {k: str(v) for k, v in context.invocation_metadata()}
            with self.lock:
                self.calls.append(Call(name, request, metadata))
                queue = self.faults.get(name) or []
                fault = queue[0] if queue else None
                if fault is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        queue.pop(0)
                hook = self.before.get(name)
            if hook is not None:
                hook(request)
            if fault is not None:
                time.sleep(fault.delay)
                if fault.code is not None:
                    _abort(context, fault.code, fault.message, fault.reason)
            try:
                return getattr(self, name)(request)
            except Abort as exc:
                _abort(context, exc.code, exc.message)

        return serve


def _abort(
    context: grpc.ServicerContext, code: grpc.StatusCode, message: str, reason: str = ""
) -> None:
    status = status_pb2.Status(code=code.value[0], message=message)
    if reason:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="googleapis.com"))
        status.details.append(detail)
    context.abort_with_status(rpc_status.to_status(status))


class GoogleApiServer:
    """One grpcio server on 127.0.0.1 for any number of :class:`ProtoService` servicers."""

    def __init__(self, tls: tuple[bytes, bytes] | None = None) -> None:
        """``tls``: (certificate chain PEM, private key PEM) to serve TLS instead of plaintext."""
        self.tls = tls
        self.services: list[ProtoService] = []
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        self.port = 0

    def add(self, service: S) -> S:
        self.services.append(service)
        self._server.add_generic_rpc_handlers((service.handler(),))
        return service

    def start(self) -> GoogleApiServer:
        if self.tls:
            credentials = grpc.ssl_server_credentials([(self.tls[1], self.tls[0])])
            self.port = self._server.add_secure_port("127.0.0.1:0", credentials)
        else:
            self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> GoogleEndpoint:
        """Settings that reach this server: anonymous, plaintext unless it serves TLS."""
        return GoogleEndpoint(api_endpoint=self.address, plaintext=not self.tls, anonymous=True)

    def stop(self) -> None:
        self._server.stop(grace=None).wait()

    def __enter__(self) -> GoogleApiServer:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
