"""Wire equivalence of two schemas of the same message.

Two schemas are wire-equivalent when, for every valid version, they put the same fields on the wire in
the same order with the same types, nullability, tags, defaults and flexible encodings.  Field versions
are compared as they take effect (intersected with the enclosing ranges), so writing "0+" inside a
struct that only exists from v3 is the same as writing "3+".  Common structs are compared by content,
not by where they are defined.  `about` texts and comments are not compared.
"""

from __future__ import annotations

from typing import Optional

from .schema import Field, Message, Versions


def first_difference(ours: Message, ref: Message) -> Optional[str]:
    """Returns a sentence naming the first difference, or None when equivalent."""
    for attr, label in (("name", "name"), ("type", "type"), ("api_key", "apiKey"),
                        ("valid_versions", "validVersions"), ("flexible_versions", "flexibleVersions")):
        a, b = getattr(ours, attr), getattr(ref, attr)
        if a != b:
            return f"{ours.name}: {label} is {a}, reference has {b}"
    return _fields(ours.fields, ref.fields, ours.name, ours.valid_versions, ours, ref)


def _fields(ours: list[Field], ref: list[Field], where: str, scope: Versions,
            om: Message, rm: Message) -> Optional[str]:
    # Fields that never exist in scope are not on the wire; skip them on both sides.
    ours = [f for f in ours if not f.versions.intersect(scope).empty]
    ref = [f for f in ref if not f.versions.intersect(scope).empty]
    for i in range(max(len(ours), len(ref))):
        if i >= len(ours):
            return f"{where}: missing field {ref[i].name} (position {i})"
        if i >= len(ref):
            return f"{where}: extra field {ours[i].name} (position {i})"
        d = _field(ours[i], ref[i], where, scope, om, rm)
        if d:
            return d
    return None


def _field(a: Field, b: Field, where: str, scope: Versions, om: Message, rm: Message):
    path = f"{where}.{b.name}"
    if a.name != b.name:
        return f"{where}: field {a.name} where the reference has {b.name}"
    if a.type.text != b.type.text:
        return f"{path}: type {a.type.text}, reference has {b.type.text}"
    va, vb = a.versions.intersect(scope), b.versions.intersect(scope)
    checks = [
        ("versions", va, vb),
        ("nullableVersions", a.nullable_versions.intersect(va), b.nullable_versions.intersect(vb)),
        ("taggedVersions", a.tagged_versions.intersect(va), b.tagged_versions.intersect(vb)),
        ("tag", a.tag, b.tag),
        ("default", _norm_default(a), _norm_default(b)),
        ("flexibleVersions", _flex(a, om, va), _flex(b, rm, vb)),
        ("ignorable", a.ignorable, b.ignorable),
    ]
    for label, x, y in checks:
        if x != y:
            return f"{path}: {label} is {_show(x)}, reference has {_show(y)}"
    if a.struct is not None:
        return _fields(a.struct.fields, b.struct.fields, path, va, om, rm)
    return None


def _flex(f: Field, m: Message, scope: Versions) -> Versions:
    flex = f.flexible_versions if f.flexible_versions is not None else m.flexible_versions
    return flex.intersect(scope)


def _norm_default(f: Field):
    return (type(f.default).__name__, f.default)


def _show(x) -> str:
    if isinstance(x, tuple):
        x = x[1]
    return "null" if x is None else repr(x) if isinstance(x, str) else str(x)
