"""Reads Kafka's JSON message schemas exactly as Kafka writes them and checks them hard.

The grammar: a message has a name, a type (request, response, header, data, ...), validVersions,
flexibleVersions, fields and optional commonStructs.  A field has a name, a type, versions and
optional nullableVersions, taggedVersions + tag, default, ignorable, flexibleVersions (string and
bytes only), mapKey, entityType, zeroCopy, about, and nested fields for struct types.

Everything wrong is reported as a SchemaError naming the file and the field path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Optional

MAX_VERSION = 0x7FFF


class SchemaError(Exception):
    def __init__(self, file: str, where: str, message: str):
        self.file, self.where, self.message = file, where, message
        super().__init__(f"{file}: {where}: {message}" if where else f"{file}: {message}")


@dataclass(frozen=True)
class Versions:
    """An inclusive version range; lo > hi means empty ("none")."""

    lo: int
    hi: int

    @staticmethod
    def none() -> "Versions":
        return Versions(1, 0)

    @staticmethod
    def parse(text) -> "Versions":
        if isinstance(text, int) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            raise ValueError(f"version range must be a string, not {text!r}")
        s = text.strip()
        if s == "none":
            return Versions.none()
        m = re.fullmatch(r"(-?\d+)\+", s)
        if m:
            lo, hi = int(m.group(1)), MAX_VERSION
        else:
            m = re.fullmatch(r"(-?\d+)\s*-\s*(-?\d+)", s) or re.fullmatch(r"(-?\d+)", s)
            if not m:
                raise ValueError(f"malformed version range {text!r}")
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.lastindex == 2 else lo
        if lo < 0 or hi < 0:
            raise ValueError(f"negative version in range {text!r}")
        if lo > MAX_VERSION or hi > MAX_VERSION:
            raise ValueError(f"version out of range in {text!r}")
        if lo > hi:
            raise ValueError(f"empty version range {text!r} (use \"none\")")
        return Versions(lo, hi)

    @property
    def empty(self) -> bool:
        return self.lo > self.hi

    @property
    def open_ended(self) -> bool:
        return not self.empty and self.hi == MAX_VERSION

    def intersect(self, other: "Versions") -> "Versions":
        lo, hi = max(self.lo, other.lo), min(self.hi, other.hi)
        return Versions(lo, hi) if lo <= hi else Versions.none()

    def contains(self, other: "Versions") -> bool:
        return other.empty or (not self.empty and self.lo <= other.lo and other.hi <= self.hi)

    def has(self, v: int) -> bool:
        return self.lo <= v <= self.hi

    def __str__(self) -> str:
        if self.empty:
            return "none"
        if self.hi == MAX_VERSION:
            return f"{self.lo}+"
        return str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"


PRIMITIVES = {
    "bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64",
    "string", "bytes", "records", "uuid",
}
INTEGERS = {"int8": (-(1 << 7), (1 << 7) - 1), "int16": (-(1 << 15), (1 << 15) - 1),
            "uint16": (0, (1 << 16) - 1), "int32": (-(1 << 31), (1 << 31) - 1),
            "uint32": (0, (1 << 32) - 1), "int64": (-(1 << 63), (1 << 63) - 1)}
NULLABLE_KINDS = {"string", "bytes", "records"}
MESSAGE_TYPES = {"request", "response", "header", "data", "metadata",
                 "coordinator-key", "coordinator-value"}
MESSAGE_KEYS = {"apiKey", "type", "listeners", "name", "validVersions", "deprecatedVersions",
                "flexibleVersions", "fields", "commonStructs", "latestVersionUnstable"}
FIELD_KEYS = {"name", "type", "versions", "nullableVersions", "taggedVersions", "tag", "default",
              "ignorable", "flexibleVersions", "mapKey", "entityType", "zeroCopy", "about", "fields",
              # Our extension: the printer writes the value as ****.
              "sensitive"}
STRUCT_KEYS = {"name", "versions", "fields", "about"}
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")
STRUCT_NAME_RE = re.compile(r"[A-Z][A-Za-z0-9]*\Z")


@dataclass
class FieldType:
    """A field's type: a primitive, a struct, or an array of one of those."""

    text: str
    is_array: bool
    element: str           # primitive name or struct name
    is_struct: bool        # element is a struct

    @staticmethod
    def parse(text: str) -> "FieldType":
        is_array = text.startswith("[]")
        element = text[2:] if is_array else text
        if element in PRIMITIVES:
            if is_array and element == "records":
                raise ValueError("records cannot be an array element")
            return FieldType(text, is_array, element, False)
        if not STRUCT_NAME_RE.match(element):
            raise ValueError(f"unknown type {text!r}")
        return FieldType(text, is_array, element, True)

    @property
    def kind(self) -> str:
        """array, struct or the primitive name."""
        return "array" if self.is_array else ("struct" if self.is_struct else self.element)


@dataclass
class Field:
    name: str
    type: FieldType
    versions: Versions
    nullable_versions: Versions
    tagged_versions: Versions
    tag: Optional[int]
    default: object            # normalised: int, float, bool, str, None (null) or "" for empty
    default_given: bool
    ignorable: bool
    flexible_versions: Optional[Versions]   # override, string/bytes only
    map_key: bool
    entity_type: Optional[str]
    zero_copy: bool
    sensitive: bool
    about: Optional[str]
    struct: Optional["Struct"] = None       # resolved for struct and []struct types
    path: str = ""


@dataclass
class Struct:
    name: str
    versions: Versions
    fields: list[Field]
    common: bool = False


@dataclass
class Message:
    file: str
    name: str
    type: str
    api_key: Optional[int]
    valid_versions: Versions
    flexible_versions: Versions
    deprecated_versions: Versions
    latest_version_unstable: bool
    listeners: list[str]
    fields: list[Field]
    structs: dict[str, Struct] = dc_field(default_factory=dict)   # every struct, by name

    @property
    def root(self) -> Struct:
        return Struct(self.name, self.valid_versions, self.fields)


def strip_comments(text: str) -> str:
    """Removes // comments outside of JSON strings (Kafka's schemas allow them)."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif c == "/" and text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


class _Loader:
    def __init__(self, file: str):
        self.file = file

    def fail(self, where: str, message: str):
        raise SchemaError(self.file, where, message)

    def versions(self, where: str, key: str, value) -> Versions:
        try:
            return Versions.parse(value)
        except ValueError as e:
            self.fail(where, f"{key}: {e}")

    def message(self, doc) -> Message:
        if not isinstance(doc, dict):
            self.fail("", "top level must be a JSON object")
        unknown = set(doc) - MESSAGE_KEYS
        if unknown:
            self.fail("", f"unknown key(s) {sorted(unknown)}")
        name = doc.get("name")
        if not isinstance(name, str) or not STRUCT_NAME_RE.match(name):
            self.fail("", f"missing or invalid message name {name!r}")
        mtype = doc.get("type")
        if mtype not in MESSAGE_TYPES:
            self.fail(name, f"invalid message type {mtype!r}")
        api_key = doc.get("apiKey")
        if mtype in ("request", "response"):
            if not isinstance(api_key, int) or isinstance(api_key, bool) or not 0 <= api_key <= 0x7FFF:
                self.fail(name, f"a {mtype} needs an apiKey between 0 and 32767, not {api_key!r}")
        elif api_key is not None and (not isinstance(api_key, int) or api_key < 0):
            self.fail(name, f"invalid apiKey {api_key!r}")
        if "validVersions" not in doc:
            self.fail(name, "missing validVersions")
        valid = self.versions(name, "validVersions", doc["validVersions"])
        if valid.empty:
            self.fail(name, "validVersions is empty")
        if "flexibleVersions" not in doc:
            self.fail(name, "missing flexibleVersions (use \"none\" or \"N+\")")
        flexible = self.versions(name, "flexibleVersions", doc["flexibleVersions"])
        if not flexible.empty and not flexible.open_ended:
            self.fail(name, f"flexibleVersions {flexible} must be \"none\" or open-ended (\"N+\")")
        deprecated = self.versions(name, "deprecatedVersions", doc.get("deprecatedVersions", "none"))
        unstable = doc.get("latestVersionUnstable", False)
        if not isinstance(unstable, bool):
            self.fail(name, "latestVersionUnstable must be true or false")
        listeners = doc.get("listeners", [])
        if not isinstance(listeners, list) or not all(isinstance(x, str) for x in listeners):
            self.fail(name, "listeners must be a list of strings")
        msg = Message(self.file, name, mtype, api_key, valid, flexible, deprecated, unstable,
                      listeners, [])
        self.msg = msg
        # Common structs first: fields may refer to them by name.
        commons = doc.get("commonStructs", [])
        if not isinstance(commons, list):
            self.fail(name, "commonStructs must be a list")
        pending = []
        for c in commons:
            if not isinstance(c, dict):
                self.fail(name, "a common struct must be an object")
            cname = c.get("name")
            where = f"{name}.commonStructs.{cname}"
            unknown = set(c) - STRUCT_KEYS
            if unknown:
                self.fail(where, f"unknown key(s) {sorted(unknown)}")
            if not isinstance(cname, str) or not STRUCT_NAME_RE.match(cname):
                self.fail(where, f"invalid struct name {cname!r}")
            if "versions" not in c:
                self.fail(where, "missing versions")
            cvers = self.versions(where, "versions", c["versions"])
            if cname in msg.structs:
                self.fail(where, f"struct {cname} is defined more than once")
            s = Struct(cname, cvers, [], common=True)
            msg.structs[cname] = s
            pending.append((s, c.get("fields"), where))
        for s, fields, where in pending:
            s.fields = self.fields(fields, where, valid)
        if "fields" not in doc:
            self.fail(name, "missing fields")
        msg.fields = self.fields(doc["fields"], name, valid)
        self.resolve(msg.fields, name)
        for s, _, where in pending:
            self.resolve(s.fields, where)
        return msg

    def fields(self, raw, where: str, parent: Versions) -> list[Field]:
        if not isinstance(raw, list):
            self.fail(where, "fields must be a list")
        out, names, tags = [], set(), {}
        for r in raw:
            f = self.field(r, where, parent)
            if f.name.lower() in names:
                self.fail(f.path, f"duplicate field name {f.name}")
            names.add(f.name.lower())
            if f.tag is not None:
                if f.tag in tags:
                    self.fail(f.path, f"tag {f.tag} is already used by field {tags[f.tag]}")
                tags[f.tag] = f.name
            out.append(f)
        return out

    def field(self, r, where: str, parent: Versions) -> Field:
        if not isinstance(r, dict):
            self.fail(where, "a field must be a JSON object")
        name = r.get("name")
        path = f"{where}.{name}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            self.fail(path, f"invalid field name {name!r}")
        unknown = set(r) - FIELD_KEYS
        if unknown:
            self.fail(path, f"unknown key(s) {sorted(unknown)}")
        if "type" not in r or not isinstance(r["type"], str):
            self.fail(path, "missing type")
        try:
            ftype = FieldType.parse(r["type"])
        except ValueError as e:
            self.fail(path, str(e))
        if "versions" not in r:
            self.fail(path, "missing versions")
        versions = self.versions(path, "versions", r["versions"])
        nullable = self.versions(path, "nullableVersions", r.get("nullableVersions", "none"))
        tagged = self.versions(path, "taggedVersions", r.get("taggedVersions", "none"))
        tag = r.get("tag")
        if tag is not None:
            if isinstance(tag, str) and re.fullmatch(r"-?\d+", tag.strip()):
                tag = int(tag)
            if not isinstance(tag, int) or isinstance(tag, bool):
                self.fail(path, f"tag must be an integer, not {r['tag']!r}")
            if tag < 0:
                self.fail(path, f"negative tag {tag}")
            if tag > 0x7FFFFFFF:
                self.fail(path, f"tag {tag} is too large")
        flags = {}
        for key in ("ignorable", "mapKey", "zeroCopy", "sensitive"):
            v = r.get(key, False)
            if not isinstance(v, bool):
                self.fail(path, f"{key} must be true or false")
            flags[key] = v
        about = r.get("about")
        if about is not None and not isinstance(about, str):
            self.fail(path, "about must be a string")
        entity = r.get("entityType")
        if entity is not None and not isinstance(entity, str):
            self.fail(path, "entityType must be a string")
        fflex = None
        if "flexibleVersions" in r:
            if ftype.is_array or ftype.element not in ("string", "bytes"):
                self.fail(path, "only string and bytes fields may override flexibleVersions")
            fflex = self.versions(path, "flexibleVersions", r["flexibleVersions"])
            if not fflex.empty and not fflex.open_ended:
                self.fail(path, f"flexibleVersions {fflex} must be \"none\" or open-ended")
        # Tagging.
        if (tag is None) != tagged.empty:
            self.fail(path, "tag and taggedVersions must be given together")
        if not tagged.empty:
            if not tagged.open_ended:
                self.fail(path, f"taggedVersions {tagged} must be open-ended (\"N+\")")
            if not versions.contains(tagged):
                self.fail(path, f"taggedVersions {tagged} are not within versions {versions}")
            flex = self.msg.flexible_versions
            if not flex.contains(tagged.intersect(self.msg.valid_versions)):
                self.fail(path, f"taggedVersions {tagged} are outside the flexible versions {flex}")
        # Nullability.
        if not nullable.empty:
            if not (ftype.is_array or ftype.is_struct or ftype.element in NULLABLE_KINDS):
                self.fail(path, f"type {ftype.text} cannot be nullable")
        if flags["zeroCopy"] and (ftype.is_array or ftype.element not in ("bytes", "records")):
            self.fail(path, "only bytes and records fields may be zeroCopy")
        if flags["mapKey"] and ftype.is_struct:
            self.fail(path, "a struct cannot be a mapKey")
        children = None
        if "fields" in r:
            if not ftype.is_struct:
                self.fail(path, f"type {ftype.text} cannot have fields")
            children = self.fields(r["fields"], path, versions.intersect(parent))
        default, given = self.default(path, ftype, r, nullable, versions)
        f = Field(name, ftype, versions, nullable, tagged, tag, default, given, flags["ignorable"],
                  fflex, flags["mapKey"], entity, flags["zeroCopy"], flags["sensitive"], about,
                  path=path)
        if children is not None:
            sname = ftype.element
            if sname in self.msg.structs:
                self.fail(path, f"struct {sname} is defined more than once")
            self.msg.structs[sname] = Struct(sname, versions, children)
        return f

    def default(self, path, ftype: FieldType, r, nullable: Versions, versions: Versions):
        if "default" not in r:
            return _implicit_default(ftype), False
        raw = r["default"]
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        elif isinstance(raw, (int, float)):
            raw = str(raw)
        if not isinstance(raw, str):
            self.fail(path, f"invalid default {r['default']!r}")
        if raw == "null":
            if ftype.element in ("string", "bytes", "records") or ftype.is_array or ftype.is_struct:
                if nullable.empty or not nullable.contains(versions):
                    self.fail(path, "null default on a field that is not nullable in all its versions")
                return None, True
        kind = ftype.kind
        if kind in INTEGERS:
            try:
                v = int(raw.strip(), 0) if raw.strip().lower().startswith(("0x", "-0x")) \
                    else int(raw.strip())
            except ValueError:
                self.fail(path, f"invalid {kind} default {raw!r}")
            lo, hi = INTEGERS[kind]
            if not lo <= v <= hi:
                self.fail(path, f"default {raw} is out of range for {kind}")
            return v, True
        if kind == "float64":
            try:
                return float(raw), True
            except ValueError:
                self.fail(path, f"invalid float64 default {raw!r}")
        if kind == "bool":
            if raw not in ("true", "false"):
                self.fail(path, f"invalid bool default {raw!r}")
            return raw == "true", True
        if kind == "string":
            return raw, True
        if kind == "uuid":
            if raw not in ("", "AAAAAAAAAAAAAAAAAAAAAA"):
                self.fail(path, f"only the zero uuid can be a default, not {raw!r}")
            return "", True
        # bytes, records, arrays and structs have only the empty default (or null).
        if raw != "":
            self.fail(path, f"type {ftype.text} can only default to empty or null, not {raw!r}")
        return _implicit_default(ftype), True

    def resolve(self, fields: list[Field], where: str):
        for f in fields:
            if f.type.is_struct:
                s = self.msg.structs.get(f.type.element)
                if s is None:
                    self.fail(f.path, f"unknown type {f.type.text}")
                f.struct = s
                if not s.common:
                    self.resolve(s.fields, f.path)


def _implicit_default(ftype: FieldType):
    k = ftype.kind
    if k in INTEGERS:
        return 0
    return {"float64": 0.0, "bool": False}.get(k, "")


def load(path) -> Message:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SchemaError(path.name, "", f"cannot read: {e}")
    try:
        doc = json.loads(strip_comments(text))
    except json.JSONDecodeError as e:
        raise SchemaError(path.name, "", f"invalid JSON: {e}")
    return _Loader(path.name).message(doc)


def load_dir(directory) -> list[Message]:
    msgs = [load(p) for p in sorted(Path(directory).glob("*.json"))]
    seen = {}
    for m in msgs:
        if m.name in seen:
            raise SchemaError(m.file, "", f"message {m.name} is also defined in {seen[m.name]}")
        seen[m.name] = m.file
    return msgs
