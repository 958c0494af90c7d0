"""The schema loader reads Kafka's format as Kafka writes it and rejects malformed schemas with a
message naming the file and the field (as Kafka's own generator tests do)."""

import json
import tempfile
import unittest
from pathlib import Path

from kgen import schema
from kgen.schema import SchemaError, Versions


def message(fields, **top):
    doc = {"apiKey": 99, "type": "request", "name": "TestRequest", "validVersions": "0-5",
           "flexibleVersions": "3+", "fields": fields}
    doc.update(top)
    return doc


def field(**kw):
    f = {"name": "Field1", "type": "int32", "versions": "0+"}
    f.update(kw)
    return f


class LoaderCase(unittest.TestCase):
    def load_text(self, text: str, name="TestRequest.json"):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / name
            p.write_text(text)
            return schema.load(p)

    def load(self, doc):
        return self.load_text(json.dumps(doc))

    def rejects(self, doc, *fragments):
        with self.assertRaises(SchemaError) as ctx:
            self.load(doc)
        msg = str(ctx.exception)
        self.assertIn("TestRequest.json", msg)
        for frag in fragments:
            self.assertIn(frag, msg)
        return msg


class AcceptsKafkaFormat(LoaderCase):
    def test_comments_bare_and_string_defaults_and_ranges(self):
        m = self.load_text("""
        // A comment line; "quotes" and // inside comments are fine.
        {
          "apiKey": 99, "type": "request", "name": "TestRequest",
          "validVersions": "0-5", "flexibleVersions": "3+",
          "fields": [
            { "name": "A", "type": "int32", "versions": "0+", "default": -1 },   // bare default
            { "name": "B", "type": "int64", "versions": "1-2", "default": "0x7fffffff" },
            { "name": "C", "type": "string", "versions": "none", "about": "http://x // not a comment" },
            { "name": "D", "type": "bool", "versions": "3+", "default": true },
            { "name": "E", "type": "[]F", "versions": "0+", "fields": [
              { "name": "G", "type": "string", "versions": "0+", "nullableVersions": "0+", "default": "null" },
              { "name": "H", "type": "int8", "versions": "3+", "taggedVersions": "3+", "tag": "0" }
            ]}
          ]
        }""")
        a, b, c, d, e = m.fields
        self.assertEqual(a.default, -1)
        self.assertEqual(b.default, 0x7FFFFFFF)
        self.assertEqual(b.versions, Versions(1, 2))
        self.assertTrue(c.versions.empty)
        self.assertEqual(c.about, "http://x // not a comment")
        self.assertIs(d.default, True)
        self.assertIsNone(e.struct.fields[0].default)
        self.assertEqual(e.struct.fields[1].tag, 0)

    def test_common_structs_resolve(self):
        m = self.load(message([field(name="S", type="[]Common")],
                              commonStructs=[{"name": "Common", "versions": "0+", "fields": [field()]}]))
        self.assertEqual(m.fields[0].struct.name, "Common")


class RejectsMalformed(LoaderCase):
    def test_invalid_json(self):
        with self.assertRaises(SchemaError) as ctx:
            self.load_text("{ not json")
        self.assertIn("TestRequest.json", str(ctx.exception))
        self.assertIn("invalid JSON", str(ctx.exception))

    def test_unknown_message_key(self):
        self.rejects(message([field()], validVersion="0+"), "unknown key", "validVersion")

    def test_unknown_field_key(self):
        self.rejects(message([field(nullable="0+")]), "TestRequest.Field1", "unknown key", "nullable")

    def test_missing_valid_versions(self):
        doc = message([field()])
        del doc["validVersions"]
        self.rejects(doc, "missing validVersions")

    def test_missing_flexible_versions(self):
        doc = message([field()])
        del doc["flexibleVersions"]
        self.rejects(doc, "missing flexibleVersions")

    def test_flexible_versions_not_open_ended(self):
        self.rejects(message([field()], flexibleVersions="1-3"), "flexibleVersions", "open-ended")

    def test_request_without_api_key(self):
        doc = message([field()])
        del doc["apiKey"]
        self.rejects(doc, "apiKey")

    def test_missing_field_versions(self):
        f = field()
        del f["versions"]
        self.rejects(message([f]), "TestRequest.Field1", "missing versions")

    def test_missing_field_type(self):
        f = field()
        del f["type"]
        self.rejects(message([f]), "TestRequest.Field1", "missing type")

    def test_malformed_version_range(self):
        self.rejects(message([field(versions="1..3")]), "TestRequest.Field1", "malformed version range")

    def test_negative_version(self):
        self.rejects(message([field(versions="-1+")]), "TestRequest.Field1", "negative")

    def test_negative_tag(self):
        self.rejects(message([field(tag=-1, taggedVersions="3+")]), "TestRequest.Field1", "negative tag")

    def test_duplicate_tag(self):
        self.rejects(message([field(tag=0, taggedVersions="3+"),
                              field(name="Field2", tag=0, taggedVersions="3+")]),
                     "TestRequest.Field2", "tag 0 is already used by field Field1")

    def test_tag_without_tagged_versions(self):
        self.rejects(message([field(tag=0)]), "TestRequest.Field1", "tag and taggedVersions")

    def test_tagged_versions_without_tag(self):
        self.rejects(message([field(taggedVersions="3+")]), "TestRequest.Field1", "tag and taggedVersions")

    def test_tagged_versions_not_open_ended(self):
        self.rejects(message([field(tag=0, taggedVersions="3-4")]), "TestRequest.Field1", "open-ended")

    def test_tagged_versions_outside_flexible_versions(self):
        self.rejects(message([field(tag=0, taggedVersions="1+")]), "TestRequest.Field1",
                     "outside the flexible versions")

    def test_tagged_versions_outside_versions(self):
        self.rejects(message([field(versions="4+", tag=0, taggedVersions="3+")]), "TestRequest.Field1",
                     "not within versions")

    def test_null_default_on_non_nullable_field(self):
        self.rejects(message([field(type="string", default="null")]), "TestRequest.Field1",
                     "null default")

    def test_null_default_on_partly_nullable_field(self):
        self.rejects(message([field(type="string", nullableVersions="2+", default="null")]),
                     "TestRequest.Field1", "null default")

    def test_nullable_integer(self):
        self.rejects(message([field(nullableVersions="0+")]), "TestRequest.Field1", "cannot be nullable")

    def test_invalid_integer_default(self):
        self.rejects(message([field(default="abc")]), "TestRequest.Field1", "invalid int32 default")

    def test_integer_default_out_of_range(self):
        self.rejects(message([field(type="int8", default="300")]), "TestRequest.Field1", "out of range")

    def test_invalid_bool_default(self):
        self.rejects(message([field(type="bool", default="yes")]), "TestRequest.Field1", "invalid bool")

    def test_unknown_struct_type(self):
        self.rejects(message([field(type="[]Nowhere")]), "TestRequest.Field1", "unknown type []Nowhere")

    def test_unknown_primitive_type(self):
        self.rejects(message([field(type="int128")]), "TestRequest.Field1", "unknown type")

    def test_struct_defined_twice(self):
        inner = [field()]
        self.rejects(message([field(name="A", type="[]S", fields=inner),
                              field(name="B", type="[]S", fields=inner)]),
                     "TestRequest.B", "defined more than once")

    def test_duplicate_field_name(self):
        self.rejects(message([field(), field()]), "TestRequest.Field1", "duplicate field name")

    def test_flexible_override_on_integer(self):
        self.rejects(message([field(flexibleVersions="none")]), "TestRequest.Field1",
                     "only string and bytes")

    def test_fields_on_primitive(self):
        self.rejects(message([field(fields=[field()])]), "TestRequest.Field1", "cannot have fields")

    def test_records_array(self):
        self.rejects(message([field(type="[]records")]), "TestRequest.Field1", "records")

    def test_error_names_nested_field_path(self):
        self.rejects(message([field(name="Topics", type="[]Topic", fields=[field(name="Bad", default="x")])]),
                     "TestRequest.Topics.Bad")


class VersionsParse(unittest.TestCase):
    def test_forms(self):
        self.assertEqual(Versions.parse("3+"), Versions(3, 0x7FFF))
        self.assertEqual(Versions.parse("1-4"), Versions(1, 4))
        self.assertEqual(Versions.parse("7"), Versions(7, 7))
        self.assertTrue(Versions.parse("none").empty)
        for bad in ("", "x", "3-1", "1+2", "+"):
            with self.assertRaises(ValueError):
                Versions.parse(bad)


if __name__ == "__main__":
    unittest.main()
