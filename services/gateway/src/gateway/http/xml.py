"""XML on every endpoint, as the spec's conventions say, without touching any controller.

A request body with ``Content-Type: application/xml`` is parsed (defusedxml: no DTD, so no
entity expansion and no external entities; a size limit before parsing) into the fields of the
handler's ``data`` type, guided by that type: the root element is the resource, each field an
element, a list field an element holding its items as repeated child elements, a dict field an
element holding one child per key, ``xsi:nil="true"`` for null. The values are converted and
validated with msgspec exactly as a JSON body is (same error codes: ``invalid_quantity``,
``validation_error``), then handed on as the JSON body the handler already reads, so every
check after that is the controller's own.

A caller that accepts XML (``Accept: application/xml``, or an XML body and no preference for
JSON) gets each JSON answer as XML, and problems as ``application/problem+xml`` (root
``problem`` in the RFC 7807 namespace). Non-JSON answers (feeds, UPD, PDF, CSV, redirects) pass
unchanged.

Bodies of handlers that take no typed ``data`` (bank statements, price lists, key uploads) are
passed through as sent: those endpoints read their own formats.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any, cast

import msgspec
import msgspec.inspect as mi
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as safe_fromstring
from litestar import Litestar, Request, Response
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.plugins import InitPlugin
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send

from gateway.http.bodies import validation_problem
from gateway.http.errors import PROBLEM_JSON, ApiError

XML = "application/xml"
PROBLEM_XML = "application/problem+xml"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PROBLEM_NS = "urn:ietf:rfc:7807"
MAX_XML_BYTES = 1_048_576  # request bodies in XML; far above any order or payment
MAX_CONVERTED_RESPONSE_BYTES = 16 * 1_048_576  # larger JSON answers stay JSON

_XML_TYPES = frozenset({"application/xml", "text/xml", PROBLEM_XML})
_JSON_TYPES = frozenset({"application/json", PROBLEM_JSON})
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_NIL = f"{{{XSI}}}nil"
# characters XML 1.0 cannot carry at all (JSON can): replaced, so the document stays well-formed
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

ET.register_namespace("xsi", XSI)


# -- negotiation --------------------------------------------------------------------------------


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _accept(value: str) -> dict[str, float]:
    ranges: dict[str, float] = {}
    for part in value.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, number = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        ranges[media.lower()] = max(quality, ranges.get(media.lower(), 0.0))
    return ranges


def wants_xml(accept: str | None, content_type: str | None) -> bool:
    """XML when the caller prefers it: an XML ``Accept`` ranked at least as high as JSON, or an
    XML request body and no ``Accept`` naming JSON."""
    ranges = _accept(accept or "")
    xml_q = max((ranges.get(t, 0.0) for t in _XML_TYPES), default=0.0)
    json_q = max((ranges.get(t, 0.0) for t in _JSON_TYPES), default=0.0)
    if xml_q > 0 and xml_q >= json_q:
        return True
    if json_q > 0:
        return False
    return content_type is not None and _media_type(content_type) in _XML_TYPES


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def scope_wants_xml(scope: Scope) -> bool:
    return wants_xml(_header(scope, b"accept"), _header(scope, b"content-type"))


# -- writing ------------------------------------------------------------------------------------


def _item_name(list_name: str) -> str:
    """The element name of one item of a list field: ``items`` → ``item``, ``keys`` → ``key``."""
    if list_name.endswith("ies") and len(list_name) > 3:
        return list_name[:-3] + "y"
    if list_name.endswith("s") and not list_name.endswith("ss") and len(list_name) > 1:
        return list_name[:-1]
    return "item"


def _fill(element: ET.Element, value: Any) -> None:
    if value is None:
        element.set(_NIL, "true")
    elif isinstance(value, dict):
        for key, inner in value.items():
            name = str(key)
            if _NAME.match(name) and not name.lower().startswith("xml"):
                child = ET.SubElement(element, name)
            else:  # a key that is no XML name (a product's field "ПИН", "1c") keeps its text
                child = ET.SubElement(element, "entry", {"key": name})
            _fill(child, inner)
    elif isinstance(value, list):
        item = _item_name(element.tag if isinstance(element.tag, str) else "item")
        for inner in value:
            _fill(ET.SubElement(element, item), inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _NOT_XML.sub("\ufffd", str(value))


def to_xml(value: Any, root: str, namespace: str | None = None) -> bytes:
    """``value`` (JSON-shaped: dicts, lists, scalars) as an XML document with root ``root``."""
    element = ET.Element(root)
    if namespace:
        element.set("xmlns", namespace)
    _fill(element, value)
    return bytes(ET.tostring(element, encoding="utf-8", xml_declaration=True))


def problem_xml(body: bytes) -> bytes:
    return to_xml(msgspec.json.decode(body), "problem", PROBLEM_NS)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def resource_name(route_handler: Any, path: str) -> str:
    """The root element of an answer: its schema's name (``OrderRead`` → ``order``,
    ``OrderList`` → ``order_list``), else the last fixed segment of the path, singular."""
    try:
        returned = route_handler.parsed_fn_signature.return_type
        candidates = [returned.annotation, *(t.annotation for t in returned.inner_types or ())]
    except AttributeError:
        candidates = []
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
            name = candidate.__name__.removesuffix("Read")
            return _snake(name) or "response"
    segments = [s for s in path.split("/") if s and not s.startswith("{")]
    if segments and _NAME.match(segments[-1]):
        last = segments[-1].replace("-", "_")
        return _item_name(last) if last.endswith("s") else last
    return "response"


# -- reading ------------------------------------------------------------------------------------


def _is_nil(element: ET.Element) -> bool:
    return element.get(_NIL, "").strip().lower() in {"true", "1"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _key_of(element: ET.Element) -> str:
    key = element.get("key")
    if _local(element.tag) == "entry" and key is not None:
        return key
    return _local(element.tag)


def _generic(element: ET.Element) -> Any:
    """Untyped content: an element with children is an object (a repeated name a list)."""
    if _is_nil(element):
        return None
    if len(element) == 0:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in element:
        key = _key_of(child)
        value = _generic(child)
        if key in result:
            existing = result[key]
            result[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            result[key] = value
    return result


def _unwrap(kind: mi.Type) -> mi.Type:
    while isinstance(kind, mi.Metadata):
        kind = kind.type
    return kind


_FIELDED = (mi.StructType, mi.DataclassType, mi.TypedDictType, mi.NamedTupleType)
_LISTS = (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)


def _optional(kind: mi.Type) -> mi.Type:
    """``T | None`` as ``T``; anything else unwrapped."""
    kind = _unwrap(kind)
    if isinstance(kind, mi.UnionType):
        options = [_unwrap(t) for t in kind.types if not isinstance(_unwrap(t), mi.NoneType)]
        if len(options) == 1:
            return options[0]
    return kind


def _list_type(kind: mi.Type) -> Any:
    listed = _optional(kind)
    return listed if isinstance(listed, _LISTS) else None


def _is_bare_item(element: ET.Element, item_type: mi.Type) -> bool:
    """One item written without a wrapper (``<lines><sku>…</sku></lines>``), not a wrapper."""
    item = _optional(item_type)
    if isinstance(item, _FIELDED):
        names = {f.encode_name for f in item.fields}
        return any(_local(child.tag) in names for child in element)
    if isinstance(item, (*_LISTS, mi.DictType, mi.AnyType)):
        return False
    return len(element) == 0 and bool((element.text or "").strip())


def _items(element: ET.Element, kind: mi.Type) -> list[Any]:
    return [_typed(child, kind) for child in element]


def _typed(element: ET.Element, kind: mi.Type) -> Any:
    """The element's content shaped as ``kind`` wants it; scalars stay text for msgspec."""
    kind = _unwrap(kind)
    if _is_nil(element):
        return None
    if isinstance(kind, mi.UnionType):
        options = [_unwrap(t) for t in kind.types if not isinstance(_unwrap(t), mi.NoneType)]
        if len(options) == 1:
            return _typed(element, options[0])
        if len(element):
            for option in options:
                if isinstance(option, (*_FIELDED, *_LISTS, mi.DictType)):
                    return _typed(element, option)
        return element.text or ""
    if isinstance(kind, _FIELDED):
        fields = {f.encode_name: f.type for f in kind.fields}
        grouped: dict[str, list[ET.Element]] = {}
        for child in element:
            grouped.setdefault(_local(child.tag), []).append(child)
        result: dict[str, Any] = {}
        for name, children in grouped.items():
            field = fields.get(name)
            if field is None:
                continue  # unknown elements are ignored, as unknown JSON keys are
            listed = _list_type(field)
            if listed is not None and (
                len(children) > 1 or _is_bare_item(children[0], listed.item_type)
            ):
                # the items repeated directly under the parent, without a wrapper
                result[name] = [_typed(c, listed.item_type) for c in children]
            elif len(children) > 1:
                raise ApiError(422, "validation_error", f"{name}: given more than once")
            else:
                result[name] = _typed(children[0], field)
        return result
    if isinstance(kind, _LISTS):
        return _items(element, kind.item_type)
    if isinstance(kind, mi.DictType):
        return {_key_of(child): _typed(child, kind.value_type) for child in element}
    if isinstance(kind, mi.AnyType):
        return _generic(element)
    if len(element):
        raise ApiError(
            422, "validation_error", f"{_local(element.tag)}: expected a value, not elements"
        )
    return element.text or ""


def parse_xml(body: bytes) -> ET.Element:
    """The document's root, refusing DTDs (so entity bombs and external entities) and size."""
    if len(body) > MAX_XML_BYTES:
        raise ApiError(413, "validation_error", f"an XML body may be at most {MAX_XML_BYTES} bytes")
    try:
        root: ET.Element = safe_fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise ApiError(
            400,
            "validation_error",
            "XML with a DTD, entities or external references is not accepted",
        ) from exc
    except ParseError as exc:
        raise ApiError(400, "validation_error", "the body is not well-formed XML") from exc
    return root


def xml_to_json(body: bytes, target: Any) -> bytes:
    """An XML body as the JSON body of ``target``, converted and validated as JSON would be."""
    root = parse_xml(body)
    shaped = _typed(root, mi.type_info(target))
    try:
        converted = msgspec.convert(shaped, type=target, strict=False)
    except msgspec.ValidationError as exc:
        raise validation_problem(exc) from exc
    plain = msgspec.to_builtins(converted)
    if isinstance(plain, dict) and isinstance(shaped, dict):
        # only what was sent: a field left out stays left out, as in the JSON body
        plain = {key: value for key, value in plain.items() if key in shaped}
    return msgspec.json.encode(plain)


# -- the layer ----------------------------------------------------------------------------------


def _body_type(route_handler: Any) -> Any:
    try:
        data = route_handler.parsed_fn_signature.parameters.get("data")
    except AttributeError:
        return None
    return None if data is None else data.annotation


def _replace_headers(
    headers: Iterable[tuple[bytes, bytes]], changes: dict[bytes, bytes]
) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k.lower() not in changes]
    return kept + list(changes.items())


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "validation_error", "the request body was not completed")
        chunk = bytes(cast("dict[str, Any]", message).get("body", b""))
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "validation_error", f"an XML body may be at most {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class XmlMiddleware:
    """ASGI middleware of each route: XML request bodies in, XML answers out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        content_type = _header(scope, b"content-type")
        answer_in_xml = scope_wants_xml(scope)  # decided before the body becomes JSON
        if content_type and _media_type(content_type) in _XML_TYPES:
            target = _body_type(scope.get("route_handler"))
            if target is not None:
                body = xml_to_json(await _read_body(receive, MAX_XML_BYTES), target)
                scope["headers"] = _replace_headers(
                    scope["headers"],
                    {b"content-type": b"application/json", b"content-length": b"%d" % len(body)},
                )
                _forget_cached_request(scope)
                receive = _replay(body)
        if answer_in_xml:
            template = str(scope.get("path_template") or scope.get("path", ""))
            root = resource_name(scope.get("route_handler"), template)
            send = _XmlSender(send, root).send
        await self.app(scope, receive, send)


def _forget_cached_request(scope: Scope) -> None:
    """Litestar caches parsed headers and body per connection; the body changed under them."""
    from litestar.utils.scope.state import ScopeState

    state = ScopeState.from_scope(scope)
    state.headers = Empty
    state.content_type = Empty
    state.body = Empty
    state.json = Empty


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return cast("Receive", receive)


class _XmlSender:
    """Buffers a JSON answer and sends it as XML; anything else goes through as it is."""

    def __init__(self, send: Send, root: str) -> None:
        self._send = send
        self._root = root
        self._start: dict[str, Any] | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._passing = False

    async def send(self, event: Message) -> None:
        message = cast("dict[str, Any]", event)
        if self._passing:
            await self._send(event)
            return
        if message["type"] == "http.response.start":
            headers: list[tuple[bytes, bytes]] = message.get("headers", [])
            content_type = next(
                (v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), ""
            )
            if _media_type(content_type) in _JSON_TYPES:
                self._start = message
                return
            self._passing = True
            await self._send(event)
            return
        if message["type"] != "http.response.body" or self._start is None:
            await self._send(event)
            return
        chunk = message.get("body", b"")
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size > MAX_CONVERTED_RESPONSE_BYTES:
            await self._flush_as_is(message.get("more_body", False))
            return
        if not message.get("more_body", False):
            await self._flush_as_xml()

    async def _flush_as_is(self, more_body: bool) -> None:
        assert self._start is not None
        self._passing = True
        await self._send(cast("Message", self._start))
        await self._send(
            {"type": "http.response.body", "body": b"".join(self._chunks), "more_body": more_body}
        )

    async def _flush_as_xml(self) -> None:
        assert self._start is not None
        body = b"".join(self._chunks)
        headers = self._start.get("headers", [])
        content_type = next(
            (v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), ""
        )
        is_problem = _media_type(content_type) == PROBLEM_JSON
        try:
            value = msgspec.json.decode(body) if body else None
        except msgspec.DecodeError:
            await self._flush_as_is(False)
            return
        if value is None and not body:
            await self._send(cast("Message", self._start))
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        xml = to_xml(value, "problem", PROBLEM_NS) if is_problem else to_xml(value, self._root)
        media = PROBLEM_XML if is_problem else XML
        start = dict(self._start)
        start["headers"] = _replace_headers(
            headers,
            {
                b"content-type": f"{media}; charset=utf-8".encode(),
                b"content-length": b"%d" % len(xml),
            },
        )
        await self._send(cast("Message", start))
        await self._send({"type": "http.response.body", "body": xml, "more_body": False})


def _as_xml_problem(handler: Callable[..., Any]) -> Callable[..., Any]:
    """An exception handler whose problem answers become problem+xml for XML callers.

    Covers errors raised before a route is found (404, 405) and by middleware, which never pass
    through :class:`XmlMiddleware`.
    """

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Any:
        response = handler(request, exc)
        if (
            isinstance(response, Response)
            and response.media_type == PROBLEM_JSON
            and wants_xml(request.headers.get("accept"), request.headers.get("content-type"))
        ):
            content = response.content
            body = content if isinstance(content, bytes) else msgspec.json.encode(content)
            return Response(
                problem_xml(body),
                status_code=response.status_code,
                media_type=PROBLEM_XML,
                headers=dict(response.headers),
            )
        return response

    return handle


_JSON_TO_XML = {"application/json": XML, PROBLEM_JSON: PROBLEM_XML}


def _with_xml(content: dict[Any, Any] | None) -> None:
    if not content:
        return
    for media, described in list(content.items()):
        xml_media = _JSON_TO_XML.get(str(getattr(media, "value", media)))  # keys may be enums
        if xml_media is not None and xml_media not in content:
            content[xml_media] = described


def advertise_xml(app: Litestar) -> None:
    """OpenAPI at ``/schema`` lists XML next to JSON on every body and answer, so clients and
    Schemathesis see what the layer accepts and sends."""
    for item in (app.openapi_schema.paths or {}).values():
        for operation in (item.get, item.put, item.post, item.patch, item.delete):
            if operation is None:
                continue
            body = operation.request_body
            if body is not None and hasattr(body, "content"):
                _with_xml(body.content)
            for answer in (operation.responses or {}).values():
                _with_xml(getattr(answer, "content", None))


class XmlPlugin(InitPlugin):
    """Registers :class:`XmlMiddleware`, makes every exception handler XML-aware and lists XML
    in the OpenAPI document."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.on_startup = [*app_config.on_startup, advertise_xml]
        app_config.middleware = [*app_config.middleware, XmlMiddleware]
        app_config.exception_handlers = {
            kind: _as_xml_problem(handler)
            for kind, handler in app_config.exception_handlers.items()
        }
        return app_config
