// Writes seed inputs for the fuzz targets into a directory: for every request the gateway knows, at
// every version, frames filled by the generated round-trip fillers (header + body), plus valid and
// legacy record payloads; with a captures directory (tests/captures/fixtures) also every request frame
// a real client sent (length prefix removed, as the request fuzzer takes frames) and the records of
// the captured Produce requests.
//
//   make_fuzz_corpus DIR/requests DIR/records [CAPTURES_DIR]
#include "generated/api_table.h"
#include "generated/produce_request.h"
#include "generated/request_header.h"
#include "generated/testing/registry.h"
#include "runtime/message_set.h"
#include "runtime/reader.h"
#include "runtime/record_batch.h"
#include "runtime/writer.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Each capture (4-byte length + frame) becomes a request seed; a Produce capture's records values
// become records seeds.  Returns the number of request seeds written.
size_t add_captures(const std::filesystem::path& captures, const std::filesystem::path& requests,
                    const std::filesystem::path& records) {
    size_t n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(captures)) {
        if (!e.is_regular_file() || e.path().extension() != ".bin") continue;
        const std::vector<uint8_t> file = read_file(e.path());
        if (file.size() < 8) continue;
        const std::vector<uint8_t> frame(file.begin() + 4, file.end());
        const std::string name = "capture-" + e.path().parent_path().filename().string() + "-" + e.path().stem().string();
        write_file(requests / name, frame);
        ++n;
        try {
            kafka::Reader r(frame.data(), frame.size());
            const int16_t key = r.read_int16(), version = r.read_int16();
            if (key != kafka::ProduceRequest::api_key) continue;
            kafka::Reader body(frame.data(), frame.size());
            kafka::RequestHeader header;
            header.decode(body, kafka::request_header_version(*kafka::find_api(key), version));
            kafka::ProduceRequest produce;
            produce.decode(body, version);
            size_t i = 0;
            for (const auto& t : produce.topic_data)
                for (const auto& p : t.partition_data)
                    if (p.records)
                        write_file(records / (name + "-" + std::to_string(i++)),
                                   std::vector<uint8_t>(p.records->data(), p.records->data() + p.records->size()));
        } catch (const kafka::DecodeError& err) {
            std::fprintf(stderr, "%s: %s\n", e.path().c_str(), err.what());
        }
    }
    return n;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3 && argc != 4) {
        std::fprintf(stderr, "usage: make_fuzz_corpus REQUESTS_DIR RECORDS_DIR [CAPTURES_DIR]\n");
        return 2;
    }
    const std::filesystem::path requests = argv[1], records = argv[2];
    std::filesystem::create_directories(requests);
    std::filesystem::create_directories(records);
    size_t n = 0;
    for (const auto* c : kafka::testing::all_message_cases()) {
        if (c->api_key < 0 || !c->name.ends_with("Request")) continue;
        const kafka::ApiInfo* api = kafka::find_api(c->api_key);
        for (int16_t v = c->min_version; v <= c->max_version; ++v) {
            kafka::RequestHeader header;
            header.request_api_key = c->api_key;
            header.request_api_version = v;
            header.correlation_id = v;
            header.client_id = "fuzz";
            kafka::Writer w;
            header.encode(w, kafka::request_header_version(*api, v));
            std::vector<uint8_t> frame = w.flatten();
            std::vector<uint8_t> body = c->random_encoding(v, 42 + static_cast<uint64_t>(v));
            frame.insert(frame.end(), body.begin(), body.end());
            write_file(requests / (std::string(c->name) + "-v" + std::to_string(v)), frame);
            ++n;
        }
    }
    kafka::RecordBatchBuilder builder({});
    for (int i = 0; i < 3; ++i)
        builder.append(1700000000000 + i, kafka::Bytes::copy_of(std::string_view("key")),
                       kafka::Bytes::copy_of(std::string_view("value")), {{kafka::Bytes::copy_of(std::string_view("h")), std::nullopt}});
    kafka::Bytes batch = builder.build();
    write_file(records / "v2-batch", std::vector<uint8_t>(batch.data(), batch.data() + batch.size()));
    std::printf("wrote %zu request seeds\n", n);
    if (argc == 4) std::printf("wrote %zu request seeds from captures in %s\n", add_captures(argv[3], requests, records), argv[3]);
    return 0;
}
