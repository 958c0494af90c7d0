// Request frames recorded from real clients (kcat/librdkafka, kafka-python, Java kafka-clients; see
// fixtures/MANIFEST.json and capture.py): each goes through the server's own frame parser
// (parse_request_frame), then its header and body are decoded by our codec and re-encoded, and the
// result must be the client's bytes exactly.  Records in Produce requests must be sound batches.
#include "generated/api_table.h"
#include "generated/request_header.h"
#include "runtime/reader.h"
#include "runtime/request_frame.h"
#include "runtime/writer.h"
#include "tests/oracle/codecs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace kafka {
namespace {

const std::filesystem::path fixtures = KGW_CAPTURES_DIR;

std::vector<std::filesystem::path> capture_files() {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::exists(fixtures))
        for (const auto& e : std::filesystem::recursive_directory_iterator(fixtures))
            if (e.is_regular_file() && e.path().extension() == ".bin") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<uint8_t> read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// "kcat/Produce-v7" for fixtures/kcat/Produce-v7.bin
std::string capture_name(const std::filesystem::path& p) {
    return p.parent_path().filename().string() + "/" + p.stem().string();
}

class Capture : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(Capture, DecodesAndReencodesByteForByte) {
    const std::vector<uint8_t> file = read_file(GetParam());
    ASSERT_GE(file.size(), 4u);
    const uint32_t length = (uint32_t{file[0]} << 24) | (uint32_t{file[1]} << 16) | (uint32_t{file[2]} << 8) | file[3];
    ASSERT_EQ(length, file.size() - 4) << "length prefix";
    const std::vector<uint8_t> frame(file.begin() + 4, file.end());

    // The server's parser.
    const RequestFrame request = parse_request_frame(Bytes::copy_of(frame));
    const ApiInfo* api = find_api(request.header.api_key);
    ASSERT_NE(api, nullptr);
    EXPECT_EQ(GetParam().stem().string(), std::string(api->name) + "-v" + std::to_string(request.header.api_version))
        << "the file name says which request it holds";
    const size_t header_size = frame.size() - request.body.size();

    // The header, decoded and re-encoded on its own.
    const int16_t header_version = request_header_version(*api, request.header.api_version);
    Reader r(frame.data(), frame.size());
    RequestHeader header;
    header.decode(r, header_version);
    EXPECT_EQ(r.position(), header_size);
    EXPECT_EQ(header.client_id, request.header.client_id);
    Writer w;
    header.encode(w, header_version);
    EXPECT_EQ(w.flatten(), std::vector<uint8_t>(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(header_size)))
        << "request header v" << header_version;

    // The body.
    const oracle::ApiCodec* codec = oracle::find_api_codec(api->key);
    ASSERT_NE(codec, nullptr);
    const std::vector<uint8_t> body(request.body.data(), request.body.data() + request.body.size());
    const oracle::Decoded d = codec->request.decode_and_reencode(body, request.header.api_version);
    ASSERT_EQ(d.error, "");
    EXPECT_EQ(d.consumed, body.size());
    EXPECT_EQ(d.size, body.size());
    if (d.reencoded != body) {
        const size_t at = oracle::first_difference(body, d.reencoded);
        ADD_FAILURE() << "re-encoding differs at body offset " << at << ", in "
                      << codec->request.field_at(body, request.header.api_version, at + 1) << "\n  decoded: " << d.printed;
    }
    EXPECT_EQ(d.records_error, "");
    std::printf("%s: %zu bytes, client_id %s, %s\n", capture_name(GetParam()).c_str(), file.size(),
                header.client_id ? header.client_id->c_str() : "null", d.printed.substr(0, 300).c_str());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Capture, ::testing::ValuesIn(capture_files()),
                         [](const ::testing::TestParamInfo<std::filesystem::path>& info) {
                             std::string name = capture_name(info.param);
                             for (char& c : name)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return name;
                         });

// Every client's captures include the requests of a producer, a consumer and a group member.
TEST(Captures, CoverTheMainApisOfEveryClient) {
    std::map<std::string, std::set<std::string>> apis;   // client -> API names
    for (const auto& f : capture_files()) {
        const std::string stem = f.stem().string();
        apis[f.parent_path().filename().string()].insert(stem.substr(0, stem.rfind("-v")));
    }
    for (const char* client : {"kcat", "kafka-python", "java"}) EXPECT_TRUE(apis.contains(client)) << client;
    for (const auto& [client, names] : apis) {
        for (const char* required : {"ApiVersions", "Metadata", "Produce", "Fetch", "FindCoordinator", "JoinGroup",
                                     "SyncGroup", "OffsetCommit"})
            EXPECT_TRUE(names.contains(required)) << client << " has no " << required << " capture";
        std::string all;
        for (const auto& n : names) all += " " + n;
        std::printf("%s: %zu APIs:%s\n", client.c_str(), names.size(), all.c_str());
    }
}

} // namespace
} // namespace kafka
