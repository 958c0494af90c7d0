// kmsg_oracle: the independent half of the codec oracle test (tests/oracle/oracle_test.cc).  It uses
// franz-go's kmsg, a Kafka codec written from the same JSON schemas by other people, to
//
//	gen:      fill every request and response kmsg knows, at every version it knows, with random
//	          values (every field, unknown tagged fields at flexible versions, valid v2 record batches
//	          in records fields) and write their encodings, for our decoder to read and re-encode;
//	check:    decode encodings our codec wrote, and write kmsg's re-encoding of what it decoded plus a
//	          JSON dump of its fields, for the test to compare;
//	versions: list the API keys and the max version kmsg knows for each.
//
// The stream format (all integers big-endian) is one record per message:
//
//	gen output / check input:  u8 kind (0 request, 1 response), i16 key, i16 version, u64 seed,
//	                           u32 n, n bytes of encoding
//	check output:              the same five fields, u8 status (0 decoded, 1 kmsg failed), u32 n,
//	                           n bytes (kmsg's re-encoding, or its error text), u32 m, m bytes of JSON
//
// Replay one case: kmsg_oracle gen --seed N --message Produce --version 9 --kind request --json
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"reflect"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// message is what kmsg's requests and responses have in common.
type message interface {
	Key() int16
	SetVersion(int16)
	IsFlexible() bool
	AppendTo([]byte) []byte
	ReadFrom([]byte) error
}

func newMessage(kind uint8, key int16) message {
	if kind == 0 {
		if r := kmsg.RequestForKey(key); r != nil {
			return r
		}
		return nil
	}
	if r := kmsg.ResponseForKey(key); r != nil {
		return r
	}
	return nil
}

// rng is splitmix64, as in tests/roundtrip/harness.h, so a seed means the same thing on both sides.
type rng struct{ state uint64 }

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
func (r *rng) intn(n int) int   { return int(r.next() % uint64(n)) }
func (r *rng) oneIn(n int) bool { return r.intn(n) == 0 }

// length: mostly short, one time in twenty 128-299, so that lengths take a two-byte varint.
func (r *rng) length(short int) int {
	if r.oneIn(20) {
		return 128 + r.intn(172)
	}
	return r.intn(short)
}
func (r *rng) str() string {
	b := make([]byte, r.length(12))
	for i := range b {
		b[i] = byte('a' + r.intn(26))
	}
	return string(b)
}
func (r *rng) bytes(max int) []byte {
	b := make([]byte, r.length(max))
	for i := range b {
		b[i] = byte(r.next())
	}
	return b
}

// caseSeed derives one case's seed from the run's seed (FNV-1a over the case's coordinates).
func caseSeed(base uint64, kind uint8, key, version int16, i int) uint64 {
	h := uint64(1469598103934665603)
	for _, b := range []uint64{base, uint64(kind), uint64(uint16(key)), uint64(uint16(version)), uint64(i)} {
		for s := 0; s < 64; s += 8 {
			h = (h ^ ((b >> s) & 0xff)) * 1099511628211
		}
	}
	return h
}

// unknownTagBase: kmsg writes its known tagged fields first and the unknown ones after them, so the
// unknown tags we add must sort after every known tag of a struct for the encoding to be in tag
// order (Kafka's tags so far stay below 10).
const unknownTagBase = 20

var tagsType = reflect.TypeOf(kmsg.Tags{})

type filler struct {
	r        *rng
	flexible bool
}

func (f *filler) fill(v reflect.Value, depth int, parent, field string) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == tagsType {
			if f.flexible && !f.r.oneIn(2) {
				tags := v.Addr().Interface().(*kmsg.Tags)
				tag := uint32(unknownTagBase + f.r.intn(4))
				if f.r.oneIn(8) {
					tag = 200 + uint32(f.r.intn(100)) // a two-byte tag varint
				}
				for n := 1 + f.r.intn(2); n > 0; n-- {
					tags.Set(tag, f.r.bytes(9))
					tag += 1 + uint32(f.r.intn(3))
				}
			}
			return
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() || (depth == 0 && sf.Name == "Version") {
				continue
			}
			f.fill(v.Field(i), depth+1, t.Name(), sf.Name)
		}
	case reflect.Ptr:
		if f.r.oneIn(5) {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), depth, parent, field)
		v.Set(p)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if isRecords(parent, field) {
				if f.r.oneIn(5) {
					v.SetBytes(nil)
				} else {
					v.SetBytes(recordBatches(f.r))
				}
				return
			}
			if f.r.oneIn(5) {
				v.SetBytes(nil)
			} else {
				v.SetBytes(f.r.bytes(24))
			}
			return
		}
		if f.r.oneIn(6) {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		n := f.r.intn(4)
		if k := v.Type().Elem().Kind(); k != reflect.Struct && k != reflect.Slice && f.r.oneIn(20) {
			n = 128 + f.r.intn(72) // a two-byte count
		}
		if depth > 8 {
			n = 0
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			f.fill(s.Index(i), depth+1, parent, field)
		}
		v.Set(s)
	case reflect.Array: // UUIDs
		for i := 0; i < v.Len(); i++ {
			v.Index(i).SetUint(f.r.next() & 0xff)
		}
	case reflect.String:
		v.SetString(f.r.str())
	case reflect.Bool:
		v.SetBool(f.r.next()&1 == 1)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.r.next())) // SetInt truncates to the field's width
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(f.r.next())
	case reflect.Float64:
		v.SetFloat(float64(int64(f.r.next()>>11)) / 1024.0)
	default:
		panic(fmt.Sprintf("cannot fill %s.%s of kind %s", parent, field, v.Kind()))
	}
}

// The fields whose schema type is "records".
func isRecords(parent, field string) bool {
	return (parent == "ProduceRequestTopicPartition" && field == "Records") ||
		(parent == "FetchResponseTopicPartition" && field == "RecordBatches")
}

// recordBatches builds 1-2 valid uncompressed v2 record batches (CRC-32C included).
func recordBatches(r *rng) []byte {
	var out []byte
	offset := int64(r.intn(1000))
	for n := 1 + r.intn(2); n > 0; n-- {
		count := 1 + r.intn(3)
		var recs []byte
		for i := 0; i < count; i++ {
			var rec []byte
			rec = append(rec, 0)                              // attributes
			rec = binary.AppendVarint(rec, int64(i))          // timestamp delta
			rec = binary.AppendVarint(rec, int64(i))          // offset delta
			rec = appendVarBytes(rec, r.bytes(8), r.oneIn(3)) // key (null one time in three)
			rec = appendVarBytes(rec, r.bytes(16), false)     // value
			headers := r.intn(2)
			rec = binary.AppendVarint(rec, int64(headers))
			for h := 0; h < headers; h++ {
				rec = appendVarBytes(rec, []byte(r.str()), false)
				rec = appendVarBytes(rec, r.bytes(6), r.oneIn(3))
			}
			recs = binary.AppendVarint(recs, int64(len(rec)))
			recs = append(recs, rec...)
		}
		var body []byte // from attributes on: what the CRC covers
		attributes := int16(0)
		if r.oneIn(3) {
			attributes |= 0x10 // transactional
		}
		ts := int64(1700000000000 + r.intn(1000000))
		body = binary.BigEndian.AppendUint16(body, uint16(attributes))
		body = binary.BigEndian.AppendUint32(body, uint32(count-1)) // last offset delta
		body = binary.BigEndian.AppendUint64(body, uint64(ts))
		body = binary.BigEndian.AppendUint64(body, uint64(ts+int64(count-1)))
		body = binary.BigEndian.AppendUint64(body, uint64(int64(r.intn(100000))-1)) // producer id
		body = binary.BigEndian.AppendUint16(body, uint16(r.intn(10)))
		body = binary.BigEndian.AppendUint32(body, uint32(r.intn(1000)))
		body = binary.BigEndian.AppendUint32(body, uint32(count))
		body = append(body, recs...)
		crc := crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli))
		out = binary.BigEndian.AppendUint64(out, uint64(offset))
		out = binary.BigEndian.AppendUint32(out, uint32(4+1+4+len(body))) // epoch, magic, crc, body
		out = binary.BigEndian.AppendUint32(out, uint32(r.intn(50)))      // partition leader epoch
		out = append(out, 2)                                              // magic
		out = binary.BigEndian.AppendUint32(out, crc)
		out = append(out, body...)
		offset += int64(count)
	}
	return out
}

func appendVarBytes(dst, b []byte, null bool) []byte {
	if null {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

func fillMessage(m message, version int16, seed uint64) {
	m.SetVersion(version)
	f := filler{r: &rng{state: seed}, flexible: m.IsFlexible()}
	f.fill(reflect.ValueOf(m).Elem(), 0, "", "")
}

// dump renders a decoded message as JSON: field names are kmsg's, bytes are hex, tags are listed.
func dump(m message) []byte {
	b, err := json.Marshal(canonical(reflect.ValueOf(m).Elem()))
	if err != nil {
		return []byte(fmt.Sprintf("%q", err.Error()))
	}
	return b
}

func canonical(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == tagsType {
			tags := v.Addr().Interface().(*kmsg.Tags)
			var out []any
			tags.Each(func(k uint32, b []byte) { out = append(out, map[string]any{"tag": k, "data": fmt.Sprintf("%x", b)}) })
			return out
		}
		out := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				out[v.Type().Field(i).Name] = canonical(v.Field(i))
			}
		}
		return out
	case reflect.Ptr:
		if v.IsNil() {
			return nil
		}
		return canonical(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return fmt.Sprintf("%x", v.Bytes())
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = canonical(v.Index(i))
		}
		return out
	case reflect.Array:
		return fmt.Sprintf("%x", v.Slice(0, v.Len()).Interface())
	case reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(f)
		}
		return v.Interface()
	default:
		return v.Interface()
	}
}

type header struct {
	kind    uint8
	key     int16
	version int16
	seed    uint64
}

func (h header) append(dst []byte) []byte {
	dst = append(dst, h.kind)
	dst = binary.BigEndian.AppendUint16(dst, uint16(h.key))
	dst = binary.BigEndian.AppendUint16(dst, uint16(h.version))
	return binary.BigEndian.AppendUint64(dst, h.seed)
}

func appendBlob(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

func maxVersion(key int16) int16 { return kmsg.RequestForKey(key).MaxVersion() }

func kindOf(s string) (uint8, bool) {
	switch s {
	case "request":
		return 0, true
	case "response":
		return 1, true
	}
	return 0, false
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	seed := fs.Uint64("seed", 1, "base seed")
	count := fs.Int("count", 4, "cases per message x version")
	only := fs.String("message", "", "only this API (kmsg's name, e.g. Produce)")
	version := fs.Int("version", -1, "only this version")
	kindName := fs.String("kind", "", "only request or response")
	asJSON := fs.Bool("json", false, "print each case as JSON (fields, then the encoding in hex) instead of the binary stream")
	fs.Parse(args)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for key := int16(0); key < 1000; key++ {
		if kmsg.RequestForKey(key) == nil || (*only != "" && kmsg.NameForKey(key) != *only) {
			continue
		}
		for kind := uint8(0); kind < 2; kind++ {
			if k, ok := kindOf(*kindName); ok && k != kind {
				continue
			}
			for v := int16(0); v <= maxVersion(key); v++ {
				if *version >= 0 && int16(*version) != v {
					continue
				}
				for i := 0; i < *count; i++ {
					h := header{kind, key, v, caseSeed(*seed, kind, key, v, i)}
					m := newMessage(kind, key)
					fillMessage(m, v, h.seed)
					enc := m.AppendTo(nil)
					if *asJSON {
						fmt.Fprintf(out, "%s v%d kind %d seed %d\n%s\n%x\n", kmsg.NameForKey(key), v, kind, h.seed, dump(m), enc)
						continue
					}
					out.Write(appendBlob(h.append(nil), enc))
				}
			}
		}
	}
	return nil
}

func readFull(in *bufio.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(in, b)
	return b, err
}

func check() error {
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for {
		hb, err := readFull(in, 13)
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		h := header{hb[0], int16(binary.BigEndian.Uint16(hb[1:])), int16(binary.BigEndian.Uint16(hb[3:])), binary.BigEndian.Uint64(hb[5:])}
		lb, err := readFull(in, 4)
		if err != nil {
			return err
		}
		enc, err := readFull(in, int(binary.BigEndian.Uint32(lb)))
		if err != nil {
			return err
		}
		status, result, js := decodeAndReencode(h, enc)
		rec := append(h.append(nil), lb...)
		rec = append(rec, enc...)
		rec = append(rec, status)
		rec = appendBlob(rec, result)
		out.Write(appendBlob(rec, js))
	}
}

func decodeAndReencode(h header, enc []byte) (status uint8, result, js []byte) {
	defer func() {
		if p := recover(); p != nil {
			status, result, js = 1, []byte(fmt.Sprintf("kmsg panicked: %v", p)), nil
		}
	}()
	m := newMessage(h.kind, h.key)
	if m == nil {
		return 1, []byte("kmsg does not know this API"), nil
	}
	m.SetVersion(h.version)
	if err := m.ReadFrom(enc); err != nil {
		return 1, []byte("kmsg could not decode: " + err.Error()), nil
	}
	return 0, m.AppendTo(nil), dump(m)
}

func versions() {
	for key := int16(0); key < 1000; key++ {
		if r := kmsg.RequestForKey(key); r != nil {
			fmt.Printf("%d %s %d\n", key, kmsg.NameForKey(key), r.MaxVersion())
		}
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kmsg_oracle gen|check|versions [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "check":
		err = check()
	case "versions":
		versions()
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kmsg_oracle:", strings.TrimSpace(err.Error()))
		os.Exit(1)
	}
}
