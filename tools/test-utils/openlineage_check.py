"""Checks OpenLineage events with the official Python client (openlineage-python, pinned), not with our own code.

Reads a JSON array of events on stdin. Each event is parsed strictly into the client's classes, which are generated
from the OpenLineage 2-0-2 spec and its facet schemas: RunEvent, Run, Job, InputDataset, OutputDataset and one class
per facet (chosen by the facet's `_schemaURL`, and by its key for the standard keys). An unknown or missing required
field, a value of the wrong type, an unknown enum value, a run id that is not a canonical UUID or a time that is not
an ISO 8601 date-time with an offset fails the event. The parsed event is then serialized back with the client's
Serde and must equal the input (the client adds empty defaults such as `facets: {}`, which an input may leave out).

Writes one JSON object on stdout: the client's version, the RunEvent and facet schema URLs its classes declare, and
one result per event (`{"ok": true}` or `{"ok": false, "reason": ...}`).
"""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import pkgutil
import sys
import types
import typing
import uuid
from importlib.metadata import version

import attr
from dateutil import parser

import openlineage.client.generated as generated
from openlineage.client.event_v2 import RunEvent
from openlineage.client.generated.base import BaseEvent, BaseFacet, DatasetFacet, JobFacet, RunFacet
from openlineage.client.generated.column_lineage_dataset import ColumnLineageDatasetFacet
from openlineage.client.generated.error_message_run import ErrorMessageRunFacet
from openlineage.client.generated.external_query_run import ExternalQueryRunFacet
from openlineage.client.generated.job_type_job import JobTypeJobFacet
from openlineage.client.generated.nominal_time_run import NominalTimeRunFacet
from openlineage.client.generated.parent_run import ParentRunFacet
from openlineage.client.generated.processing_engine_run import ProcessingEngineRunFacet
from openlineage.client.generated.schema_dataset import SchemaDatasetFacet
from openlineage.client.serde import Serde

PINNED = "1.54.0"

# The spec's standard facet keys: a facet under one of them must be that class.
STANDARD_KEYS: dict[str, type] = {
    "parent": ParentRunFacet,
    "nominalTime": NominalTimeRunFacet,
    "errorMessage": ErrorMessageRunFacet,
    "externalQuery": ExternalQueryRunFacet,
    "processing_engine": ProcessingEngineRunFacet,
    "jobType": JobTypeJobFacet,
    "schema": SchemaDatasetFacet,
    "columnLineage": ColumnLineageDatasetFacet,
}

BASES = {BaseFacet, RunFacet, JobFacet, DatasetFacet}
TIME_FIELDS = {"eventTime", "nominalStartTime", "nominalEndTime"}
UUID_FIELDS = {"runId"}


class Invalid(Exception):
    pass


def facet_classes() -> dict[str, type]:
    """Every facet class of the client's generated modules, by the schema URL it declares."""
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(generated.__path__):
        module = importlib.import_module(f"{generated.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseFacet) and cls not in BASES and attr.has(cls):
                found[cls._get_schema()] = cls
    return found


FACETS = facet_classes()


def strip(tp: typing.Any) -> tuple[typing.Any, bool]:
    """`X | None` as (X, True); anything else as (it, False)."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True
    return tp, False


def check_scalar(name: str, value: typing.Any, path: str) -> None:
    if name in TIME_FIELDS and value is not None:
        try:
            parsed = parser.isoparse(value)
        except (ValueError, TypeError) as e:
            raise Invalid(f"{path}: {value!r} is not an ISO 8601 date-time ({e})") from e
        if "t" not in value.lower() or parsed.tzinfo is None:
            raise Invalid(f"{path}: {value!r} is not a date-time with a time and an offset")
    if name in UUID_FIELDS:
        try:
            canonical = str(uuid.UUID(value))
        except (ValueError, TypeError, AttributeError) as e:
            raise Invalid(f"{path}: {value!r} is not a UUID") from e
        if canonical != value:
            raise Invalid(f"{path}: {value!r} is not a UUID in its canonical form ({canonical})")


def build(tp: typing.Any, value: typing.Any, path: str) -> typing.Any:
    tp, optional = strip(tp)
    if value is None:
        if optional:
            return None
        raise Invalid(f"{path}: null where {tp} is required")
    origin = typing.get_origin(tp)
    if tp is str:
        if not isinstance(value, str):
            raise Invalid(f"{path}: {value!r} is not a string")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise Invalid(f"{path}: {value!r} is not a boolean")
        return value
    if tp is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(f"{path}: {value!r} is not an integer")
        return value
    if tp is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise Invalid(f"{path}: {value!r} is not a number")
        return value
    if inspect.isclass(tp) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError as e:
            allowed = ", ".join(m.value for m in tp)
            raise Invalid(f"{path}: {value!r} is not one of {allowed}") from e
    if origin is list:
        if not isinstance(value, list):
            raise Invalid(f"{path}: {value!r} is not an array")
        (item,) = typing.get_args(tp)
        return [build(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise Invalid(f"{path}: {value!r} is not an object")
        _, item = typing.get_args(tp)
        if inspect.isclass(item) and issubclass(item, BaseFacet):
            return {k: build(facet_class(item, k, v, f"{path}.{k}"), v, f"{path}.{k}") for k, v in value.items()}
        return {k: build(item, v, f"{path}.{k}") for k, v in value.items()}
    if inspect.isclass(tp) and attr.has(tp):
        return build_object(tp, value, path)
    if tp is typing.Any:
        return value
    raise Invalid(f"{path}: the checker does not know type {tp}")


def facet_class(base: type, key: str, value: typing.Any, path: str) -> type:
    """The client's class of a facet: by its `_schemaURL`, which must be a class of the right kind (and key)."""
    if not isinstance(value, dict) or not isinstance(value.get("_schemaURL"), str):
        raise Invalid(f"{path}: a facet must be an object with a _schemaURL")
    url = value["_schemaURL"]
    cls = FACETS.get(url)
    if cls is None:
        raise Invalid(f"{path}: _schemaURL {url!r} is no facet class of openlineage-python {PINNED}")
    if not issubclass(cls, base):
        raise Invalid(f"{path}: {cls.__name__} is not a {base.__name__}")
    standard = STANDARD_KEYS.get(key)
    if standard is not None and standard is not cls:
        raise Invalid(f"{path}: the standard key {key!r} holds {standard.__name__}, not {cls.__name__}")
    return cls


def build_object(cls: type, value: typing.Any, path: str) -> typing.Any:
    if not isinstance(value, dict):
        raise Invalid(f"{path}: {value!r} is not an object ({cls.__name__})")
    hints = typing.get_type_hints(cls)
    fields = {a.name: a for a in attr.fields(cls)}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise Invalid(f"{path}: {cls.__name__} has no field {', '.join(unknown)}")
    # The spec requires these even where the client has a default (it fills in its own producer).
    required = {a.name for a in fields.values() if a.init and a.default is attr.NOTHING}
    if issubclass(cls, BaseFacet):
        required |= {"_producer", "_schemaURL"}
    if issubclass(cls, BaseEvent):
        required |= {"producer", "schemaURL"}
    missing = sorted(required - set(value))
    if missing:
        raise Invalid(f"{path}: {cls.__name__} misses required field {', '.join(missing)}")
    kwargs = {}
    for name, v in value.items():
        a = fields[name]
        check_scalar(name, v, f"{path}.{name}")
        built = build(hints[name], v, f"{path}.{name}")
        if a.init:
            kwargs[a.alias] = built
    try:
        obj = cls(**kwargs)
    except (ValueError, TypeError) as e:
        raise Invalid(f"{path}: {cls.__name__} refused it: {e}") from e
    # Fields the class sets itself (schemaURL, _schemaURL) must be what it declares.
    for name, v in value.items():
        if not fields[name].init and getattr(obj, name) != v:
            raise Invalid(f"{path}.{name}: {v!r}, but {cls.__name__} declares {getattr(obj, name)!r}")
    return obj


def without_nulls(value: typing.Any) -> typing.Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value


def compare(sent: typing.Any, back: typing.Any, path: str) -> None:
    """`back` (the client's serialization) equals `sent`, but for empty defaults the client adds."""
    if isinstance(sent, dict) and isinstance(back, dict):
        for k in sent:
            if k not in back:
                raise Invalid(f"{path}.{k}: lost in the client's serialization")
            compare(sent[k], back[k], f"{path}.{k}")
        for k in back:
            if k not in sent and back[k] not in ({}, []):
                raise Invalid(f"{path}.{k}: added by the client's serialization ({back[k]!r})")
        return
    if isinstance(sent, list) and isinstance(back, list):
        if len(sent) != len(back):
            raise Invalid(f"{path}: {len(sent)} items sent, {len(back)} after the client's serialization")
        for i, (a, b) in enumerate(zip(sent, back)):
            compare(a, b, f"{path}[{i}]")
        return
    if sent != back or type(sent) is not type(back):
        raise Invalid(f"{path}: {sent!r} sent, {back!r} after the client's serialization")


def check(event: typing.Any) -> dict[str, typing.Any]:
    try:
        parsed = build_object(RunEvent, event, "event")
        compare(without_nulls(event), Serde.to_dict(parsed), "event")
    except Invalid as e:
        return {"ok": False, "reason": str(e)}
    return {"ok": True}


def main() -> int:
    installed = version("openlineage-python")
    if installed != PINNED:
        print(f"openlineage-python {installed} is installed, the checker is written for {PINNED}", file=sys.stderr)
        return 2
    events = json.load(sys.stdin)
    json.dump(
        {
            "client": installed,
            "runEvent": RunEvent._get_schema(),
            "facets": {key: cls._get_schema() for key, cls in STANDARD_KEYS.items()},
            "results": [check(e) for e in events],
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
