"""Turns a directory of schemas into C++: one .h/.cc pair per message, the API traits and table, and
(optionally) the round-trip test fillers."""

from __future__ import annotations

from pathlib import Path

import jinja2

from . import cpp
from .schema import Message, SchemaError, load_dir

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def _apis(messages: list[Message]) -> list[dict]:
    by_key: dict[int, dict[str, Message]] = {}
    for m in messages:
        if m.type in ("request", "response"):
            slot = by_key.setdefault(m.api_key, {})
            if m.type in slot:
                raise SchemaError(m.file, "", f"apiKey {m.api_key} has a second {m.type}, {slot[m.type].name}")
            slot[m.type] = m
    apis = []
    for key in sorted(by_key):
        pair = by_key[key]
        if set(pair) != {"request", "response"}:
            m = next(iter(pair.values()))
            missing = ({"request", "response"} - set(pair)).pop()
            raise SchemaError(m.file, "", f"apiKey {key} has no {missing}")
        req, resp = pair["request"], pair["response"]
        if req.valid_versions != resp.valid_versions:
            raise SchemaError(resp.file, "", f"validVersions {resp.valid_versions} differ from the request's "
                                             f"{req.valid_versions}")
        if req.flexible_versions != resp.flexible_versions:
            raise SchemaError(resp.file, "", f"flexibleVersions {resp.flexible_versions} differ from the "
                                             f"request's {req.flexible_versions}")
        name = req.name[: -len("Request")] if req.name.endswith("Request") else req.name
        apis.append(dict(key=key, name=name, request=req.name, response=resp.name,
                         min=req.valid_versions.lo, max=req.valid_versions.hi,
                         flexible=_first_flexible(req), unstable=req.latest_version_unstable))
    return apis


def _first_flexible(m: Message) -> int:
    f = m.flexible_versions.intersect(m.valid_versions)
    return -1 if f.empty else f.lo


def generate(schema_dir, out_dir, with_tests: bool = True) -> list[Path]:
    """Writes the generated files; returns their paths."""
    messages = load_dir(schema_dir)
    out = Path(out_dir)
    env = _env()
    files: dict[Path, str] = {}
    models = []
    for msg in messages:
        cm = cpp.build(msg)
        for cs in cm.structs:
            cs.encode = cpp.encode_body(cs, "write")
            cs.size = cpp.encode_body(cs, "size")
            cs.decode = cpp.decode_body(cs)
            cs.print = cpp.print_body(cs)
            cs.fill = cpp.fill_body(cs)
        ctx = dict(m=cm, nested=cm.structs[:-1], first_flexible=_first_flexible(msg))
        files[out / f"{cm.stem}.h"] = env.get_template("message.h.j2").render(**ctx)
        files[out / f"{cm.stem}.cc"] = env.get_template("message.cc.j2").render(**ctx)
        if with_tests:
            files[out / "testing" / f"{cm.stem}_fill.cc"] = env.get_template("fill.cc.j2").render(**ctx)
        models.append(cm)
    apis = _apis(messages)
    max_key = max((a["key"] for a in apis), default=0)
    files[out / "api_traits.h"] = env.get_template("api_traits.h.j2").render(apis=apis)
    files[out / "api_table.h"] = env.get_template("api_table.h.j2").render(apis=apis)
    files[out / "api_table.cc"] = env.get_template("api_table.cc.j2").render(apis=apis, max_key=max_key)
    if with_tests:
        files[out / "testing" / "registry.h"] = env.get_template("registry.h.j2").render()
        files[out / "testing" / "registry.cc"] = env.get_template("registry.cc.j2").render(messages=models)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    # Remove what a deleted schema left behind.
    for stale in list(out.glob("*.h")) + list(out.glob("*.cc")) + list(out.glob("testing/*")):
        if stale not in files:
            stale.unlink()
    return sorted(files)
