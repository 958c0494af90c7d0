"""The C++ side of the generator: names, types, defaults and the statements that encode, size, decode
and fill each field.

Every statement is emitted for a *reach*: the versions in which that code can run.  A version check that
the reach makes always true is not emitted; code the reach makes unreachable is not emitted at all
(Kafka's VersionConditional, Redpanda's VersionRange.guard).  Flexible and non-flexible encodings are
split the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable, Optional, Union

from .schema import INTEGERS, MAX_VERSION, Field, Message, Struct, Versions

Cond = Union[bool, str]

CPP_KEYWORDS = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case",
    "catch", "char", "class", "compl", "concept", "const", "consteval", "constexpr", "constinit",
    "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype", "default", "delete", "do",
    "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false", "float", "for",
    "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not",
    "not_eq", "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static", "static_assert",
    "static_cast", "struct", "switch", "template", "this", "thread_local", "throw", "true", "try",
    "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual", "void", "volatile",
    "wchar_t", "while", "xor", "xor_eq",
}
# Names our generated structs use themselves.
RESERVED_MEMBERS = {"encode", "decode", "size", "print", "version", "unknown_tagged_fields", "api_key",
                    "w", "r", "n", "os", "rng"}

FIXED = {"bool": ("bool", 1), "int8": ("int8", 1), "int16": ("int16", 2), "uint16": ("uint16", 2),
         "int32": ("int32", 4), "uint32": ("uint32", 4), "int64": ("int64", 8),
         "float64": ("float64", 8), "uuid": ("uuid", 16)}
CPP_SCALARS = {"bool": "bool", "int8": "int8_t", "int16": "int16_t", "uint16": "uint16_t",
               "int32": "int32_t", "uint32": "uint32_t", "int64": "int64_t", "float64": "double",
               "uuid": "::kafka::Uuid", "string": "std::string", "bytes": "::kafka::Bytes",
               "records": "::kafka::Bytes"}


def snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()


def member_name(field_name: str) -> str:
    s = snake(field_name)
    return s + "_" if s in CPP_KEYWORDS or s in RESERVED_MEMBERS else s


def file_stem(message_name: str) -> str:
    return snake(message_name)


# ----------------------------------------------------------------------------------------------
# Version conditions.

def cond(target: Versions, reach: Versions) -> Cond:
    """A C++ condition that is true exactly for the versions of `reach` in `target`."""
    t = target.intersect(reach)
    if t.empty:
        return False
    if t.lo <= reach.lo and t.hi >= reach.hi:
        return True
    parts = []
    if t.lo > reach.lo:
        parts.append(f"version >= {t.lo}")
    if t.hi < reach.hi:
        parts.append(f"version <= {t.hi}")
    return " && ".join(parts)


def remainder(reach: Versions, taken: Versions) -> Versions:
    """reach minus taken, widened to one range when it falls apart in two."""
    t = taken.intersect(reach)
    if t.empty:
        return reach
    if t.lo > reach.lo and t.hi < reach.hi:
        return reach
    if t.lo > reach.lo:
        return Versions(reach.lo, t.lo - 1)
    if t.hi < reach.hi:
        return Versions(t.hi + 1, reach.hi)
    return Versions.none()


def negate(c: Cond) -> Cond:
    if isinstance(c, bool):
        return not c
    m = re.fullmatch(r"version >= (\d+)", c)
    if m:
        return f"version < {m.group(1)}"
    m = re.fullmatch(r"version <= (\d+)", c)
    if m:
        return f"version > {m.group(1)}"
    m = re.fullmatch(r"version >= (\d+) && version <= (\d+)", c)
    if m:
        return f"version < {m.group(1)} || version > {m.group(2)}"
    if c.startswith("!") and re.fullmatch(r"![\w.>()-]+", c) and c.count("(") == c.count(")"):
        return c[1:]
    return f"!({c})"


def guarded(c: Cond, body: list[str], else_body: Optional[list[str]] = None) -> list[str]:
    if c is True:
        return body
    if c is False:
        return else_body or []
    if not body:
        return guarded(negate(c), else_body or []) if else_body else []
    out = [f"if ({c}) {{", *indent(body), "}"]
    if else_body:
        out[-1] = "} else {"
        out += [*indent(else_body), "}"]
    return out


def split(flex: Versions, reach: Versions, body: Callable[[bool, Versions], list[str]]) -> list[str]:
    """Emits body(compact, reach') once, or twice behind a flexible-version check when it differs."""
    c = cond(flex, reach)
    if c is True or c is False:
        return body(c, reach)
    yes, no = body(True, flex.intersect(reach)), body(False, remainder(reach, flex))
    if yes == no:
        return yes
    return guarded(c, yes, no)


def indent(lines: list[str]) -> list[str]:
    return ["    " + ln if ln else ln for ln in lines]


def cpp_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=True)


# ----------------------------------------------------------------------------------------------
# The model the templates see.

@dataclass
class CField:
    f: Field
    name: str               # C++ member
    type: str               # C++ type
    optional: bool          # std::optional<...>
    init: str               # default member initializer ("" for none)
    reach: Versions         # where the enclosing struct is encoded
    regular: Versions       # versions where it is a regular (untagged) field
    tagged: Versions        # versions where it is tagged
    flex: Versions          # versions where its encoding is compact
    message: Message = None

    @property
    def path(self) -> str:
        return self.f.path


@dataclass
class CStruct:
    s: Struct
    name: str
    qualified: str
    reach: Versions
    fields: list[CField]
    flexible: Versions
    message: "CMessage"

    @property
    def tagged_fields(self) -> list[CField]:
        return sorted((f for f in self.fields if not f.tagged.empty), key=lambda f: f.f.tag)

    @property
    def known_tags(self) -> list[int]:
        return sorted(f.f.tag for f in self.fields if f.f.tag is not None)


@dataclass
class CMessage:
    m: Message
    name: str
    stem: str
    structs: list[CStruct]   # nested first, the message itself last
    root: CStruct


def build(msg: Message) -> CMessage:
    reach: dict[str, Versions] = {}

    def visit(s: Struct, r: Versions):
        old = reach.get(s.name)
        new = r if old is None or old.empty else (old if r.empty else Versions(min(old.lo, r.lo), max(old.hi, r.hi)))
        if old == new:
            return
        reach[s.name] = new
        for f in s.fields:
            if f.struct is not None:
                visit(f.struct, f.versions.intersect(new))

    visit(msg.root, msg.valid_versions)
    cm = CMessage(msg, msg.name, file_stem(msg.name), [], None)
    order: list[Struct] = []
    seen = set()

    def post(s: Struct):
        if s.name in seen:
            return
        seen.add(s.name)
        for f in s.fields:
            if f.struct is not None:
                post(f.struct)
        order.append(s)

    for s in msg.structs.values():
        if s.common:
            post(s)
    post(msg.root)
    for s in msg.structs.values():   # structs no field refers to
        post(s)
    for s in order:
        r = reach.get(s.name) or Versions.none()
        if r.empty:
            r = msg.valid_versions
        is_root = s.name == msg.name and s.fields is msg.fields
        cs = CStruct(s, s.name, msg.name if is_root else f"{cm.stem}::{s.name}", r, [],
                     msg.flexible_versions, cm)
        cs.fields = [_field(f, r, msg) for f in s.fields]
        cm.structs.append(cs)
    cm.root = cm.structs[-1]
    return cm


def _field(f: Field, reach: Versions, msg: Message) -> CField:
    tagged = f.tagged_versions.intersect(reach)
    if tagged.empty:
        regular = f.versions.intersect(reach)
    else:
        regular = f.versions.intersect(Versions(0, f.tagged_versions.lo - 1)).intersect(reach) \
            if f.tagged_versions.lo > 0 else Versions.none()
    present = f.versions.intersect(reach)
    optional = not f.nullable_versions.intersect(present).empty
    base = element_type(f)
    ctype = f"std::vector<{base}>" if f.type.is_array else base
    if optional:
        ctype = f"std::optional<{ctype}>"
    flex = f.flexible_versions if f.flexible_versions is not None else msg.flexible_versions
    return CField(f, member_name(f.name), ctype, optional, default_init(f, optional), reach, regular,
                  tagged, flex, msg)


def element_type(f: Field) -> str:
    return f.type.element if f.type.is_struct else CPP_SCALARS[f.type.element]


def int_literal(kind: str, v: int) -> str:
    if kind == "int64" and v == INTEGERS["int64"][0]:
        return "INT64_MIN"
    if kind == "int32" and v == INTEGERS["int32"][0]:
        return "INT32_MIN"
    suffix = "LL" if kind == "int64" else ("u" if kind in ("uint16", "uint32") else "")
    return f"{v}{suffix}"


def default_init(f: Field, optional: bool) -> str:
    """The default member initializer, without braces; "" when value-initialisation is right."""
    kind, d = f.type.kind, f.default
    if optional:
        if d is None or (kind == "records" and not f.default_given):
            return ""   # null; Kafka's records default to null
        inner = default_init(f, False)
        return "std::in_place" + (f", {inner}" if inner else "")
    if kind in INTEGERS:
        return int_literal(kind, d) if d != 0 else ""
    if kind == "float64":
        return repr(float(d)) if d != 0 else ""
    if kind == "bool":
        return "true" if d else ""
    if kind == "string":
        return cpp_string(d) if d else ""
    return ""


def is_default(cf: CField, x: str) -> str:
    """A C++ expression, true when member expression x holds the field's default."""
    f = cf.f
    kind = f.type.kind

    def plain(v: str) -> str:
        if kind in INTEGERS or kind in ("float64", "bool"):
            init = default_init(f, False)
            lit = init if init else ("false" if kind == "bool" else "0")
            return f"{v} == {lit}"
        if kind == "string":
            return f"{v}.empty()" if not f.default else f"{v} == {cpp_string(f.default)}"
        if kind == "uuid":
            return f"{v}.is_zero()"
        if kind == "struct":
            return f"{v} == {f.type.element}{{}}"
        return f"{v}.empty()"          # bytes, records, arrays

    if cf.optional:
        if f.default is None or (kind == "records" and not f.default_given):
            return f"!{x}.has_value()"
        return f"({x}.has_value() && {plain('(*' + x + ')')})"
    return plain(x)


# ----------------------------------------------------------------------------------------------
# Statements.  `mode` is "write" (into Writer w) or "size" (adding to the size_t named by acc).

def pick(c: Cond, yes: str, no: str) -> str:
    """yes when c holds, no otherwise: one of them when c is known, a ternary when it is not."""
    if c is True:
        return yes
    if c is False:
        return no
    return yes if yes == no else f"({c} ? {yes} : {no})"


def _scalar_write(kind: str, compact: Cond, nullable: bool, x: str, mode: str, acc: str) -> list[str]:
    if kind in FIXED:
        fn, width = FIXED[kind]
        return [f"w.write_{fn}({x});"] if mode == "write" else [f"{acc} += {width};"]
    base = {"string": "string", "bytes": "bytes", "records": "bytes"}[kind]
    name = ("nullable_" if nullable else "") + base
    if mode == "write":
        return [pick(compact, f"w.write_compact_{name}({x})", f"w.write_{name}({x})") + ";"]
    return [f"{acc} += " + pick(compact, f"::kafka::compact_{name}_size({x})", f"::kafka::{name}_size({x})") + ";"]


def value_out(cf: CField, x: str, compact: Cond, nullable_ok: Cond, mode: str, acc: str) -> list[str]:
    """Writes (or sizes) the value of field cf held in x; nullable_ok tells when null is allowed."""
    f = cf.f
    kind = f.type.kind
    out: list[str] = []
    if cf.optional and mode == "write" and nullable_ok is not True:
        c = f"!{x}.has_value()" if nullable_ok is False else f"!{x}.has_value() && !({nullable_ok})"
        out.append(f"if ({c}) ::kafka::throw_null_field({cpp_string(cf.path)}, version);")
    if kind == "array":
        v = f"(*{x})" if cf.optional else x
        body: list[str] = []
        if mode == "write":
            body.append(pick(compact, f"w.write_compact_array_length(::kafka::checked_count({v}.size()))",
                             f"w.write_array_length(::kafka::checked_count({v}.size()))") + ";")
        else:
            body.append(f"{acc} += " + pick(compact, f"::kafka::compact_array_length_size(static_cast<int32_t>({v}.size()))",
                                            "4") + ";")
        el = f.type.element
        if f.type.is_struct:
            call = "e.encode(w, version);" if mode == "write" else f"{acc} += e.size(version);"
            body += [f"for (const auto& e : {v}) {call}"]
        elif el in FIXED and mode == "size":
            body.append(f"{acc} += {FIXED[el][1]} * {v}.size();")
        else:
            stmt = _scalar_write(el, compact, False, "e", mode, acc)
            body += [f"for (const auto& e : {v}) {stmt[0]}"]
        if cf.optional:
            null = ([pick(compact, "w.write_uvarint(0)", "w.write_int32(-1)") + ";"] if mode == "write"
                    else [f"{acc} += {pick(compact, '1', '4')};"])
            return out + [f"if ({x}.has_value()) {{", *indent(body), "} else {", *indent(null), "}"]
        return out + body
    if kind == "struct":
        if cf.optional:
            if mode == "write":
                return out + [f"if ({x}.has_value()) {{", "    w.write_int8(1);", f"    {x}->encode(w, version);",
                              "} else {", "    w.write_int8(-1);", "}"]
            return out + [f"{acc} += 1 + ({x}.has_value() ? {x}->size(version) : 0);"]
        return out + ([f"{x}.encode(w, version);"] if mode == "write" else [f"{acc} += {x}.size(version);"])
    return out + _scalar_write(kind, compact, cf.optional, x, mode, acc)


def _scalar_read(kind: str, compact: Cond, nullable: bool) -> str:
    if kind in FIXED:
        return f"r.read_{FIXED[kind][0]}()"
    base = {"string": "string", "bytes": "bytes", "records": "bytes"}[kind]
    name = ("nullable_" if nullable else "") + base
    return pick(compact, f"r.read_compact_{name}()", f"r.read_{name}()")


def element_min_size(f: Field, msg: Message, region: Versions, flex: Versions, compact: bool) -> int:
    """A lower bound of the wire size of one array element over the versions of region whose array is
    compact (flexible) when compact is true, classic otherwise: the bound the reader checks a count
    against.  It must never exceed a real element's size, or a valid array is rejected."""
    versions = [v for v in range(region.lo, region.hi + 1) if flex.has(v) == compact]
    if not versions:   # that branch is never taken in region
        return 0
    el = f.type.element
    if f.type.is_struct:
        return min(struct_min_size(f.struct, msg, v) for v in versions)
    if el in FIXED:
        return FIXED[el][1]
    if el == "string":
        return 1 if compact else 2
    return 1 if compact else 4


def struct_min_size(s: Struct, msg: Message, v: int) -> int:
    """The exact smallest encoding of struct s at version v: every field at its smallest."""
    flexible = msg.flexible_versions.has(v)
    n = 1 if flexible else 0          # the tagged-field count
    for f in s.fields:
        if not f.versions.has(v) or f.tagged_versions.has(v):
            continue
        fflex = (f.flexible_versions if f.flexible_versions is not None else msg.flexible_versions).has(v)
        kind = f.type.kind
        if kind == "array" or kind in ("bytes", "records"):
            n += 1 if fflex else 4
        elif kind == "string":
            n += 1 if fflex else 2
        elif kind == "struct":
            n += 1 if f.nullable_versions.has(v) else struct_min_size(f.struct, msg, v)
        else:
            n += FIXED[kind][1]
    return n


def value_in(cf: CField, x: str, compact: Cond, nullable_ok: Cond, region: Versions) -> list[str]:
    f = cf.f
    kind = f.type.kind
    null_check = []
    if cf.optional and nullable_ok is not True:
        c = f"!{x}.has_value()" if nullable_ok is False else f"!{x}.has_value() && !({nullable_ok})"
        null_check = [f"if ({c}) r.fail_null();"]
    if kind == "array":
        el = f.type.element
        min_compact = element_min_size(f, cf.message, region, cf.flex, True)
        min_classic = element_min_size(f, cf.message, region, cf.flex, False)
        length = pick(compact, f"r.read_compact_array_length({min_compact})", f"r.read_array_length({min_classic})")
        min_size = min_compact if compact is True else min_classic if compact is False else min(min_compact, min_classic)
        out = ["{", f"    const int32_t count = {length};"]
        if cf.optional:
            out += ["    if (count < 0) {", f"        {x}.reset();", *indent(indent(null_check)), "    } else {",
                    f"        auto& v = {x}.emplace();"]
        else:
            out += ["    if (count < 0) r.fail_null();", "    {", f"        auto& v = {x};", "        v.clear();"]
        # count <= remaining / min_size, so reserving costs no more than decoding the elements would.
        loop = ["v.reserve(static_cast<size_t>(count));"] if min_size > 0 else []
        if f.type.is_struct:
            loop += ["for (int32_t i = 0; i < count; ++i) v.emplace_back().decode(r, version);"]
        else:
            loop += [f"for (int32_t i = 0; i < count; ++i) v.push_back({_scalar_read(el, compact, False)});"]
        out += indent(indent(loop)) + ["    }", "}"]
        return out
    if kind == "struct":
        if cf.optional:
            return ["if (r.read_int8() < 0) {", f"    {x}.reset();", *indent(null_check), "} else {",
                    f"    {x}.emplace().decode(r, version);", "}"]
        return [f"{x} = {{}};", f"{x}.decode(r, version);"] if not cf.tagged.empty else [f"{x}.decode(r, version);"]
    if cf.optional:
        return [f"{x} = {_scalar_read(kind, compact, True)};", *null_check]
    return [f"{x} = {_scalar_read(kind, compact, False)};"]


# ----------------------------------------------------------------------------------------------
# Struct bodies.

def encode_body(cs: CStruct, mode: str) -> list[str]:
    acc = "n"
    out: list[str] = []
    for cf in cs.fields:
        x = cf.name
        c = cond(cf.regular, cs.reach)
        write = []
        if c is not False:
            r = cf.regular.intersect(cs.reach)
            write = value_out(cf, x, cond(cf.flex, r), cond(cf.f.nullable_versions, r), mode, acc)
        check = []
        present = cond(cf.f.versions, cs.reach)
        if present is not True and not cf.f.ignorable and mode == "write":
            check = [f"if ({negate(is_default(cf, x))}) ::kafka::throw_unsupported_field({cpp_string(cf.path)}, version);"]
        if c is True:
            out += write
        elif c is False:
            out += guarded(negate(present), check)
        else:
            absent = negate(present)
            if check and absent is not False:
                rest = remainder(cs.reach, cf.regular)
                # Inside the else branch, versions where the field is regular are excluded.
                out += [f"if ({c}) {{", *indent(write), "}"]
                out += guarded(cond_absent(cf, cs.reach), check)
            else:
                out += guarded(c, write)
    out += split(cs.flexible, cs.reach, lambda compact, rr: tagged_out(cs, rr, mode) if compact
                 else non_flexible_tags(mode))
    return out


def cond_absent(cf: CField, reach: Versions) -> Cond:
    return negate(cond(cf.f.versions, reach))


def non_flexible_tags(mode: str) -> list[str]:
    if mode != "write":
        return []
    return ["if (!unknown_tagged_fields.empty()) ::kafka::throw_tags_at_non_flexible_version(version);"]


def tagged_out(cs: CStruct, reach: Versions, mode: str) -> list[str]:
    tagged = [cf for cf in cs.tagged_fields if cond(cf.tagged, reach) is not False]
    if not tagged:
        return (["::kafka::write_tagged_fields(w, unknown_tagged_fields);"] if mode == "write"
                else ["n += ::kafka::tagged_fields_size(unknown_tagged_fields);"])
    out = ["{", "    uint32_t tagged_count = static_cast<uint32_t>(unknown_tagged_fields.size());"]
    if mode == "size":
        out.append("    n += ::kafka::unknown_tagged_fields_size(unknown_tagged_fields);")
    for cf in tagged:
        c = cond(cf.tagged, reach)
        flag = f"has_tag_{cf.f.tag}"
        expr = negate(is_default(cf, cf.name))
        if c is not True:
            expr = f"({c}) && {expr}"
        out.append(f"    const bool {flag} = {expr};")
        out.append(f"    if ({flag}) ++tagged_count;")
    if mode == "write":
        out += ["    w.write_uvarint(tagged_count);", "    size_t next_unknown = 0;"]
    else:
        out.append("    n += ::kafka::uvarint_size(tagged_count);")
    for cf in tagged:
        r = cf.tagged.intersect(reach)
        nullable_ok = cond(cf.f.nullable_versions, r)
        tag = cf.f.tag
        sz = value_out(cf, cf.name, True, nullable_ok, "size", "value_size")
        body = ["size_t value_size = 0;", *sz]
        if mode == "write":
            body = [f"::kafka::write_unknown_tagged_fields(w, unknown_tagged_fields, next_unknown, {tag});",
                    f"w.write_uvarint({tag});", *body, "w.write_uvarint(static_cast<uint32_t>(value_size));",
                    *value_out(cf, cf.name, True, nullable_ok, "write", "")]
        else:
            body += [f"n += ::kafka::uvarint_size({tag}) + ::kafka::uvarint_size(static_cast<uint32_t>(value_size)) + value_size;"]
        out += indent([f"if (has_tag_{tag}) {{", *indent(body), "}"])
    if mode == "write":
        out.append("    ::kafka::write_unknown_tagged_fields(w, unknown_tagged_fields, next_unknown, UINT64_MAX);")
    out.append("}")
    return out


def decode_body(cs: CStruct) -> list[str]:
    # Nested structs are only decoded by their parent into freshly made elements; the message resets
    # itself so that decoding into a used message gives the same result as into a new one.
    out = [f"*this = {cs.name}{{}};"] if cs is cs.message.root else []
    for cf in cs.fields:
        c = cond(cf.regular, cs.reach)
        if c is False:
            continue
        r = cf.regular.intersect(cs.reach)
        body = [f"r.at({cpp_string(cf.path)});",
                *value_in(cf, cf.name, cond(cf.flex, r), cond(cf.f.nullable_versions, r), r)]
        out += guarded(c, body)
    out += split(cs.flexible, cs.reach, lambda compact, rr: tagged_in(cs, rr) if compact else [])
    return out


def tagged_in(cs: CStruct, reach: Versions) -> list[str]:
    tagged = [cf for cf in cs.tagged_fields if cond(cf.tagged, reach) is not False]
    out = ["{", "    r.at(\"tagged fields\");", "    const uint32_t tagged_count = r.read_uvarint();",
           "    for (uint32_t i = 0; i < tagged_count; ++i) {",
           "        const uint32_t tag = r.read_uvarint();",
           "        const uint32_t length = r.read_uvarint();"]
    first = True
    for cf in tagged:
        c = cond(cf.tagged, reach)
        test = f"tag == {cf.f.tag}" + ("" if c is True else f" && {c}")
        r = cf.tagged.intersect(reach)
        body = ["::kafka::Reader outer = r.sub_reader(length);", "{",
                "    ::kafka::Reader& r = outer;", f"    r.at({cpp_string(cf.path)});",
                *indent(value_in(cf, cf.name, True, cond(cf.f.nullable_versions, r), r)),
                "    ::kafka::expect_tagged_field_end(r);", "}"]
        out += indent(indent([f"{'if' if first else '} else if'} ({test}) {{", *indent(body)]))
        first = False
    add = "::kafka::add_unknown_tagged_field(unknown_tagged_fields, tag, r.read_raw(length));"
    if first:
        out += indent(indent([add]))
    else:
        out += indent(indent(["} else {", "    " + add, "}"]))
    out += ["    }", "}"]
    return out


def print_body(cs: CStruct) -> list[str]:
    out = [f"os << \"{cs.name}{{\";"]
    for i, cf in enumerate(cs.fields):
        sep = "" if i == 0 else ", "
        if cf.f.sensitive:
            out.append(f"os << \"{sep}{cf.name}=****\";")
        else:
            out.append(f"os << \"{sep}{cf.name}=\";")
            out.append(f"::kafka::print_value(os, {cf.name});")
    out.append("if (!unknown_tagged_fields.empty()) {")
    out.append(f"    os << \"{', ' if cs.fields else ''}unknown_tagged_fields=\";")
    out.append("    ::kafka::print_value(os, unknown_tagged_fields);")
    out.append("}")
    out.append("os << '}';")
    return out


# ----------------------------------------------------------------------------------------------
# Test filling: every field present at the version gets a pseudo-random value.

def fill_body(cs: CStruct) -> list[str]:
    out: list[str] = []
    for cf in cs.fields:
        present = cond(cf.f.versions, cs.reach)
        if present is False:
            continue
        r = cf.f.versions.intersect(cs.reach)
        out += guarded(present, fill_value(cf, f"m.{cf.name}", r))
    tags = ", ".join(str(t) for t in cs.known_tags)
    out += guarded(cond(cs.flexible, cs.reach),
                   [f"rng.unknown_tagged_fields(m.unknown_tagged_fields, {{{tags}}});"])
    return out


def fill_value(cf: CField, x: str, reach: Versions) -> list[str]:
    f = cf.f
    kind = f.type.kind
    if kind == "array":
        el = f.type.element
        target = f"{x}.emplace()" if cf.optional else x
        item = "fill(v.emplace_back(), version, rng);" if f.type.is_struct else f"v.push_back(rng.{_rng(el)}());"
        body = ["{", f"    auto& v = {target};", "    v.clear();",
                "    for (size_t i = 0, n = rng.count(); i < n; ++i) " + item, "}"]
    elif kind == "struct":
        body = [f"fill({x}.emplace(), version, rng);" if cf.optional else f"fill({x}, version, rng);"]
    else:
        body = [f"{x} = rng.{_rng(kind)}();"]
    if cf.optional:
        nc = cond(f.nullable_versions, reach)
        if nc is not False:
            test = "rng.one_in(4)" if nc is True else f"({nc}) && rng.one_in(4)"
            return [f"if ({test}) {{", f"    {x}.reset();", "} else {", *indent(body), "}"]
    return body


def _rng(kind: str) -> str:
    return {"records": "bytes", "bool": "boolean"}.get(kind, kind)
