// Writes seed inputs for the fuzz targets into a directory: for every request the gateway knows, at
// every version, frames filled by the generated round-trip fillers (header + body), plus valid and
// legacy record payloads.
//
//   make_fuzz_corpus DIR/requests DIR/records
#include "generated/api_table.h"
#include "generated/request_header.h"
#include "generated/testing/registry.h"
#include "runtime/message_set.h"
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

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: make_fuzz_corpus REQUESTS_DIR RECORDS_DIR\n");
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
    return 0;
}
