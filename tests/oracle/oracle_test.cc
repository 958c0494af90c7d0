// The codec oracle: franz-go's kmsg (tests/oracle/kmsg/main.go, built as kmsg_oracle) against our
// generated codec, for every request and response at every version both know.
//
//   OracleToOurs: kmsg fills each message with random values (every field, unknown tagged fields at
//     flexible versions, valid record batches in records fields) and encodes it; we decode all of it,
//     re-encode it byte for byte, and the records fields hold sound batches.
//   OursToOracle: our generated fillers (generated/testing) encode each message; kmsg decodes it and
//     encodes what it read; we decode both and compare the two messages field by field (operator==),
//     naming the first differing field, and require the bytes to be identical (or identical but for
//     kmsg writing its unknown tagged fields after its known ones: counted and printed).
//
// Replay: oracle_tests --seed N --count C --message Produce --version 9   (kmsg's name for the API)
//         kmsg_oracle gen --seed N --count C --message Produce --version 9 --kind request --json
#include "generated/api_table.h"
#include "generated/fetch_request.h"
#include "generated/testing/registry.h"
#include "runtime/reader.h"
#include "runtime/writer.h"
#include "tests/oracle/codecs.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace kafka::oracle {
namespace {

struct Options {
    uint64_t seed = 20261125;
    int count = 3;
    std::string message;   // an API name, e.g. Produce ("" = all)
    int version = -1;
    std::string oracle = KGW_KMSG_ORACLE;
};
Options options;

// Pairs deliberately left out, with the reason.  Printed by every run; never skipped silently.
struct Skip {
    int16_t key;
    bool response;
    int16_t min_version, max_version;
    const char* reason;
};
constexpr Skip kSkips[] = {
    {-1, false, 0, 0, nullptr},   // placeholder so the array is never empty
};

const Skip* skip_for(int16_t key, bool response, int16_t version) {
    for (const Skip& s : kSkips)
        if (s.reason && s.key == key && s.response == response && version >= s.min_version && version <= s.max_version)
            return &s;
    return nullptr;
}

// kmsg reads FetchRequest.Topics.Partitions tag 0 (ReplicaDirectoryId, which Kafka has at v17+) and
// tag 1 (HighWatermark, KIP-1166, which Kafka has at v18+) at every flexible version, so an unknown
// tag 0 or 1 that our filler puts there at v12-17 is misread by kmsg (as a UUID or an int64), not
// kept as unknown.  Those two tags are taken out of our message before kmsg sees it; every run says
// how many cases that touched.  Everything else about FetchRequest v12-17 is compared as usual.
std::vector<uint8_t> without_tags_kmsg_misreads(int16_t key, bool response, int16_t version, std::vector<uint8_t> enc,
                                                size_t& adjusted) {
    if (key != FetchRequest::api_key || response || version < FetchRequest::first_flexible_version) return enc;
    auto frame = std::make_shared<std::vector<uint8_t>>(std::move(enc));
    Reader r(frame->data(), frame->size(), frame);
    FetchRequest m;
    m.decode(r, version);
    bool changed = false;
    for (auto& topic : m.topics)
        for (auto& partition : topic.partitions)
            changed |= std::erase_if(partition.unknown_tagged_fields, [](const TaggedField& f) { return f.tag <= 1; }) > 0;
    if (!changed) return *frame;
    ++adjusted;
    Writer w;
    m.encode(w, version);
    return w.flatten();
}

std::filesystem::path work_dir() {
    static const std::filesystem::path dir = [] {
        std::string templ = (std::filesystem::temp_directory_path() / "kgw-oracle-XXXXXX").string();
        if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        return std::filesystem::path(templ);
    }();
    return dir;
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

void run(const std::string& command) {
    const int status = std::system(command.c_str());
    if (status != 0) throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command);
}

std::vector<uint8_t> read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// kmsg's max version per API key.
std::map<int16_t, int16_t> kmsg_versions() {
    static const std::map<int16_t, int16_t> versions = [] {
        const auto out = work_dir() / "versions.txt";
        run(shell_quote(options.oracle) + " versions > " + shell_quote(out.string()));
        std::map<int16_t, int16_t> v;
        std::ifstream in(out);
        int key, max;
        std::string name;
        while (in >> key >> name >> max) v[static_cast<int16_t>(key)] = static_cast<int16_t>(max);
        return v;
    }();
    return versions;
}

// A cursor over the oracle's binary stream.
struct StreamReader {
    const std::vector<uint8_t>& b;
    size_t pos = 0;
    bool more() const { return pos < b.size(); }
    uint64_t be(size_t n) {
        if (pos + n > b.size()) throw std::runtime_error("oracle stream truncated");
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v = (v << 8) | b[pos++];
        return v;
    }
    std::vector<uint8_t> blob() {
        const size_t n = be(4);
        if (pos + n > b.size()) throw std::runtime_error("oracle stream truncated");
        std::vector<uint8_t> out(b.begin() + static_cast<ptrdiff_t>(pos), b.begin() + static_cast<ptrdiff_t>(pos + n));
        pos += n;
        return out;
    }
};

struct CaseId {
    bool response;
    int16_t key;
    int16_t version;
    uint64_t seed;
};

CaseId read_case_id(StreamReader& r) {
    CaseId id;
    id.response = r.be(1) != 0;
    id.key = static_cast<int16_t>(r.be(2));
    id.version = static_cast<int16_t>(r.be(2));
    id.seed = r.be(8);
    return id;
}

void append_be(std::vector<uint8_t>& out, uint64_t v, size_t n) {
    for (size_t i = n; i-- > 0;) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

std::string pair_name(const ApiCodec& api, bool response, int16_t version) {
    return std::string(api.name) + (response ? "Response" : "Request") + " v" + std::to_string(version);
}

std::string replay(const ApiCodec& api, int16_t version) {
    return "replay: oracle_tests --seed " + std::to_string(options.seed) + " --count " + std::to_string(options.count) +
           " --message " + std::string(api.name) + " --version " + std::to_string(version);
}

// Failures, reported once per message x version with a count of further failing seeds.
class Failures {
public:
    void add(const std::string& pair, const std::string& what) {
        if (seen_[pair]++ == 0) ADD_FAILURE() << pair << ": " << what;
    }
    ~Failures() {
        for (const auto& [pair, n] : seen_)
            if (n > 1) std::printf("  %s: %zu failing cases in all\n", pair.c_str(), n);
    }

private:
    std::map<std::string, size_t> seen_;
};

void print_skips() {
    for (const Skip& s : kSkips)
        if (s.reason)
            std::printf("  skipped by kSkips: key %d %s v%d-%d: %s\n", s.key, s.response ? "response" : "request",
                        s.min_version, s.max_version, s.reason);
}

bool selected(const ApiCodec& api, int16_t version) {
    return (options.message.empty() || options.message == api.name) && (options.version < 0 || options.version == version);
}

TEST(Oracle, CodecTableCoversEveryApi) {
    for (const ApiInfo& api : api_table()) {
        const ApiCodec* c = find_api_codec(api.key);
        ASSERT_NE(c, nullptr) << api.name << " is missing from tests/oracle/codecs.cc";
        EXPECT_EQ(c->name, api.name);
        EXPECT_EQ(c->max_version, api.max_version);
    }
    EXPECT_EQ(api_codecs().size(), api_table().size());
}

// Found by the oracle (kmsg's DeleteGroupsRequest v2 with three empty group names): the generator
// bounded a compact array's count by the classic element size (2 bytes for a string) whenever the
// field also had classic versions, and rejected this valid message as "array of 3 elements, 5 bytes
// left".  Each branch now has its own bound.
TEST(Oracle, CompactArrayOfEmptyStringsDecodes) {
    const std::vector<uint8_t> bytes = {0x04, 0x01, 0x01, 0x01, 0x00};   // 3 x "", no tagged fields
    const Decoded d = find_api_codec(42)->request.decode_and_reencode(bytes, 2);
    EXPECT_EQ(d.error, "");
    EXPECT_EQ(d.reencoded, bytes);
    const std::vector<uint8_t> classic = {0, 0, 0, 3, 0, 0, 0, 0, 0, 0};   // v1: 3 x "" (2 bytes each)
    EXPECT_EQ(find_api_codec(42)->request.decode_and_reencode(classic, 1).error, "");
    const std::vector<uint8_t> too_many = {0, 0, 0, 4, 0, 0, 0, 0, 0, 0};  // v1: 4 strings in 6 bytes
    EXPECT_NE(find_api_codec(42)->request.decode_and_reencode(too_many, 1).error, "");
}

// kmsg's encodings, decoded and re-encoded by us.
TEST(Oracle, OracleToOurs) {
    const auto out = work_dir() / "gen.bin";
    std::string cmd = shell_quote(options.oracle) + " gen --seed " + std::to_string(options.seed) + " --count " +
                      std::to_string(options.count);
    if (!options.message.empty()) cmd += " --message " + shell_quote(options.message);
    if (options.version >= 0) cmd += " --version " + std::to_string(options.version);
    run(cmd + " > " + shell_quote(out.string()));
    const std::vector<uint8_t> stream = read_file(out);
    StreamReader r{stream};
    Failures failures;
    std::set<std::string> pairs, beyond_ours, skipped;
    std::set<int16_t> unknown_keys;
    size_t cases = 0, bytes = 0, batches_checked = 0;
    while (r.more()) {
        const CaseId id = read_case_id(r);
        const std::vector<uint8_t> enc = r.blob();
        const ApiCodec* api = find_api_codec(id.key);
        if (api == nullptr) {
            unknown_keys.insert(id.key);
            continue;
        }
        const std::string pair = pair_name(*api, id.response, id.version);
        if (id.version < api->min_version || id.version > api->max_version) {
            beyond_ours.insert(pair);
            continue;
        }
        if (const Skip* s = skip_for(id.key, id.response, id.version)) {
            skipped.insert(pair + ": " + s->reason);
            continue;
        }
        pairs.insert(pair);
        ++cases;
        bytes += enc.size();
        const MessageCodec& codec = id.response ? api->response : api->request;
        const Decoded d = codec.decode_and_reencode(enc, id.version);
        const std::string where = " (case seed " + std::to_string(id.seed) + "; " + replay(*api, id.version) + ")";
        if (!d.error.empty()) {
            failures.add(pair, "our decoder rejected kmsg's " + std::to_string(enc.size()) + " bytes: " + d.error + where);
        } else if (d.consumed != enc.size()) {
            failures.add(pair, "decode read " + std::to_string(d.consumed) + " of kmsg's " + std::to_string(enc.size()) +
                                   " bytes and left the rest" + where);
        } else if (d.reencoded != enc) {
            const size_t at = first_difference(enc, d.reencoded);
            failures.add(pair, "re-encoding differs from kmsg's bytes at offset " + std::to_string(at) + " of " +
                                   std::to_string(enc.size()) + " (ours " + std::to_string(d.reencoded.size()) +
                                   " bytes), in: " + codec.field_at(enc, id.version, at + 1) + "\n  decoded: " +
                                   d.printed + where);
        } else if (d.size != enc.size()) {
            failures.add(pair, "size() is " + std::to_string(d.size) + " for " + std::to_string(enc.size()) + " bytes" + where);
        } else if (!d.records_error.empty()) {
            failures.add(pair, "a records field is not a sound batch to us: " + d.records_error + where);
        }
        if ((id.key == 0 && !id.response) || (id.key == 1 && id.response)) ++batches_checked;
    }
    std::printf("kmsg -> ours: %zu message x version pairs, %zu cases, %zu bytes (seed %llu, %d per pair); "
                "%zu Produce/Fetch cases had their record batches validated\n",
                pairs.size(), cases, bytes, static_cast<unsigned long long>(options.seed), options.count,
                batches_checked);
    for (const auto& p : beyond_ours) std::printf("  not ours (beyond our schema's versions): %s\n", p.c_str());
    for (int16_t k : unknown_keys) std::printf("  not ours (API key %d unknown to our schemas)\n", k);
    for (const auto& s : skipped) std::printf("  skipped: %s\n", s.c_str());
    print_skips();
    if (options.message.empty() && options.version < 0) {
        EXPECT_GT(pairs.size(), 400u);
    }
}

// Our encodings, decoded and re-encoded by kmsg, compared field by field.
TEST(Oracle, OursToOracle) {
    const std::map<int16_t, int16_t> kmsg = kmsg_versions();
    std::vector<uint8_t> input;
    std::set<std::string> pairs, beyond_kmsg, skipped;
    size_t adjusted = 0;
    for (const testing::MessageCase* c : testing::all_message_cases()) {
        if (c->api_key < 0) continue;
        const bool response = c->name.ends_with("Response");
        const ApiCodec* api = find_api_codec(c->api_key);
        ASSERT_NE(api, nullptr) << c->name;
        const auto known = kmsg.find(c->api_key);
        for (int16_t v = c->min_version; v <= c->max_version; ++v) {
            if (!selected(*api, v)) continue;
            const std::string pair = pair_name(*api, response, v);
            if (known == kmsg.end() || v > known->second) {
                beyond_kmsg.insert(pair);
                continue;
            }
            if (const Skip* s = skip_for(c->api_key, response, v)) {
                skipped.insert(pair + ": " + s->reason);
                continue;
            }
            pairs.insert(pair);
            for (int i = 0; i < options.count; ++i) {
                uint64_t seed = 1469598103934665603ULL ^ options.seed;
                for (char ch : c->name) seed = (seed ^ static_cast<uint8_t>(ch)) * 1099511628211ULL;
                seed ^= (static_cast<uint64_t>(v) << 32) ^ static_cast<uint64_t>(i);
                const std::vector<uint8_t> enc =
                    without_tags_kmsg_misreads(c->api_key, response, v, c->random_encoding(v, seed), adjusted);
                append_be(input, response ? 1 : 0, 1);
                append_be(input, static_cast<uint16_t>(c->api_key), 2);
                append_be(input, static_cast<uint16_t>(v), 2);
                append_be(input, seed, 8);
                append_be(input, enc.size(), 4);
                input.insert(input.end(), enc.begin(), enc.end());
            }
        }
    }
    const auto in_path = work_dir() / "ours.bin", out_path = work_dir() / "checked.bin";
    std::ofstream(in_path, std::ios::binary).write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
    run(shell_quote(options.oracle) + " check < " + shell_quote(in_path.string()) + " > " + shell_quote(out_path.string()));
    const std::vector<uint8_t> stream = read_file(out_path);
    StreamReader r{stream};
    Failures failures;
    size_t cases = 0, identical = 0;
    std::map<std::string, size_t> tag_order_only;
    while (r.more()) {
        const CaseId id = read_case_id(r);
        const std::vector<uint8_t> ours = r.blob();
        const bool decoded = r.be(1) == 0;
        const std::vector<uint8_t> result = r.blob();
        const std::vector<uint8_t> json = r.blob();
        const ApiCodec* api = find_api_codec(id.key);
        ASSERT_NE(api, nullptr);
        const std::string pair = pair_name(*api, id.response, id.version);
        const MessageCodec& codec = id.response ? api->response : api->request;
        const std::string where = " (our seed " + std::to_string(id.seed) + "; " + replay(*api, id.version) + ")";
        ++cases;
        if (!decoded) {
            failures.add(pair, std::string(result.begin(), result.end()) + " (our " + std::to_string(ours.size()) +
                                   " bytes)" + where);
            continue;
        }
        const std::string kmsg_json(json.begin(), json.end());
        if (result == ours) {
            ++identical;
            continue;
        }
        const std::string difference = codec.compare(ours, result, id.version);
        if (!difference.empty()) {
            const size_t at = first_difference(ours, result);
            failures.add(pair, difference + "\n  first differing byte " + std::to_string(at) + " of " +
                                   std::to_string(ours.size()) + " is in: " + codec.field_at(ours, id.version, at + 1) +
                                   "\n  kmsg decoded: " + kmsg_json + where);
            continue;
        }
        // Same message, different bytes: only acceptable when our encoding of kmsg's bytes gives ours
        // back, i.e. kmsg wrote the same fields in another order (its unknown tags after its known ones).
        const Decoded again = codec.decode_and_reencode(result, id.version);
        if (again.reencoded == ours) ++tag_order_only[pair];
        else failures.add(pair, "kmsg's bytes decode to the same message but re-encode differently" + where);
    }
    std::printf("ours -> kmsg: %zu message x version pairs, %zu cases, %zu byte-identical\n", pairs.size(), cases, identical);
    size_t reordered = 0;
    for (const auto& [pair, n] : tag_order_only) reordered += n;
    if (reordered)
        std::printf("  %zu cases (%zu pairs) equal field by field but kmsg wrote its known tagged fields before the "
                    "unknown ones we had put first (kmsg's AppendTo; not a tag-order bug of ours)\n",
                    reordered, tag_order_only.size());
    if (adjusted)
        std::printf("  %zu FetchRequest v12-17 cases had unknown tags 0/1 of a partition removed before kmsg saw them "
                    "(kmsg reads those tags at every flexible version; see without_tags_kmsg_misreads)\n",
                    adjusted);
    for (const auto& p : beyond_kmsg) std::printf("  not kmsg's (beyond kmsg v1.15.1's versions): %s\n", p.c_str());
    for (const auto& s : skipped) std::printf("  skipped: %s\n", s.c_str());
    print_skips();
    EXPECT_EQ(cases, pairs.size() * static_cast<size_t>(options.count));
    if (options.message.empty() && options.version < 0) {
        EXPECT_GT(pairs.size(), 400u);
    }
}

} // namespace
} // namespace kafka::oracle

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    using kafka::oracle::options;
    for (int i = 1; i < argc; i += 2) {
        const std::string arg = argv[i];
        const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
        if (value == nullptr) {
            std::fprintf(stderr, "usage: oracle_tests [gtest flags] [--seed N] [--count N] [--message API] [--version V] [--oracle PATH]\n");
            return 2;
        }
        if (arg == "--seed") options.seed = std::stoull(value);
        else if (arg == "--count") options.count = std::stoi(value);
        else if (arg == "--message") options.message = value;
        else if (arg == "--version") options.version = std::stoi(value);
        else if (arg == "--oracle") options.oracle = value;
        else {
            std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
            return 2;
        }
    }
    const int status = RUN_ALL_TESTS();
    std::error_code ec;
    std::filesystem::remove_all(kafka::oracle::work_dir(), ec);
    return status;
}
