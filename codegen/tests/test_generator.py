"""The generator removes dead version checks, splits flexible paths only where needed, keeps our
generated/ in sync and the equivalence checker names the first wire difference."""

import re
import tempfile
import unittest
from pathlib import Path

from kgen import cpp, schema
from kgen.equivalence import first_difference
from kgen.generate import generate
from kgen.schema import MAX_VERSION, Versions

ROOT = Path(__file__).resolve().parents[2]


class Conditions(unittest.TestCase):
    def test_always_and_never_are_not_emitted(self):
        reach = Versions(0, 11)
        self.assertIs(cpp.cond(Versions(0, MAX_VERSION), reach), True)
        self.assertIs(cpp.cond(Versions(12, MAX_VERSION), reach), False)
        self.assertIs(cpp.cond(Versions.none(), reach), False)
        self.assertEqual(cpp.cond(Versions(3, MAX_VERSION), reach), "version >= 3")
        self.assertEqual(cpp.cond(Versions(0, 4), reach), "version <= 4")
        self.assertEqual(cpp.cond(Versions(2, 4), reach), "version >= 2 && version <= 4")
        # Inside a struct only reachable from v5, "3+" is always true.
        self.assertIs(cpp.cond(Versions(3, MAX_VERSION), Versions(5, 11)), True)

    def test_negation(self):
        self.assertEqual(cpp.negate("version >= 3"), "version < 3")
        self.assertEqual(cpp.negate("version >= 2 && version <= 4"), "version < 2 || version > 4")
        self.assertEqual(cpp.negate("!x.has_value()"), "x.has_value()")
        self.assertIs(cpp.negate(True), False)

    def test_snake_case_and_reserved_names(self):
        self.assertEqual(cpp.member_name("ThrottleTimeMs"), "throttle_time_ms")
        self.assertEqual(cpp.member_name("IPAddress"), "ip_address")
        self.assertEqual(cpp.member_name("Size"), "size_")
        self.assertEqual(cpp.member_name("Default"), "default_")


class GeneratedCode(unittest.TestCase):
    def test_no_dead_version_checks_in_generated(self):
        """No check that the enclosing reach makes always true or always false."""
        for path in (ROOT / "generated").glob("*.cc"):
            text = path.read_text()
            for m in re.finditer(r"// (\S+): encoded in versions (\S+)\.", text):
                reach = Versions.parse(m.group(2))
                body = text[m.end(): text.find("\n}\n", m.end())]
                for op, v in re.findall(r"version (>=|<=) (\d+)", body):
                    v = int(v)
                    if op == ">=":
                        self.assertTrue(reach.lo < v <= reach.hi, f"{path.name} {m.group(1)}: version >= {v}")
                    else:
                        self.assertTrue(reach.lo <= v < reach.hi, f"{path.name} {m.group(1)}: version <= {v}")

    def test_flexible_split_only_where_versions_differ(self):
        text = (ROOT / "generated" / "api_versions_request.cc").read_text()
        # ApiVersionsRequest v0-4, flexible 3+: strings are split, v0-2 have no fields to split.
        self.assertIn("version >= 3", text)
        header = (ROOT / "generated" / "request_header.cc").read_text()
        # ClientId overrides flexibleVersions to none: always the classic nullable string.
        self.assertIn("w.write_nullable_string(client_id);", header)
        self.assertNotIn("write_compact_nullable_string(client_id)", header)

    def test_sensitive_fields_print_stars(self):
        text = (ROOT / "generated" / "sasl_authenticate_request.cc").read_text()
        self.assertIn('auth_bytes=****', text)

    def test_generated_is_in_sync(self):
        with tempfile.TemporaryDirectory() as d:
            generate(ROOT / "schemas", Path(d) / "generated")
            for p in (Path(d) / "generated").rglob("*"):
                if p.is_file():
                    ours = ROOT / "generated" / p.relative_to(Path(d) / "generated")
                    self.assertTrue(ours.exists(), f"missing {ours}")
                    self.assertEqual(ours.read_text(), p.read_text(), f"{ours} differs")


class Equivalence(unittest.TestCase):
    def load(self, text):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "X.json"
            p.write_text(text)
            return schema.load(p)

    DOC = """{ "apiKey": 1, "type": "request", "name": "XRequest", "validVersions": "0-4",
      "flexibleVersions": "3+", "fields": [
        { "name": "A", "type": "int32", "versions": "0+" },
        { "name": "B", "type": "[]T", "versions": "2+", "fields": [
          { "name": "C", "type": "string", "versions": "0+", "nullableVersions": "2+" } ] } ] }"""

    def test_equivalent_despite_prose_and_effective_ranges(self):
        a = self.load(self.DOC)
        b = self.load(self.DOC.replace('"versions": "0+" }', '"versions": "0+", "about": "x" }')
                      .replace('"versions": "0+", "nullableVersions": "2+"',
                               '"versions": "2+", "nullableVersions": "0+"'))
        self.assertIsNone(first_difference(a, b))

    def test_names_first_difference(self):
        a = self.load(self.DOC)
        b = self.load(self.DOC.replace('"nullableVersions": "2+"', '"nullableVersions": "3+"'))
        self.assertEqual(first_difference(a, b),
                         "XRequest.B.C: nullableVersions is 2-4, reference has 3-4")
        c = self.load(self.DOC.replace('"name": "A", "type": "int32"', '"name": "A", "type": "int64"'))
        self.assertEqual(first_difference(c, a), "XRequest.A: type int64, reference has int32")


if __name__ == "__main__":
    unittest.main()
