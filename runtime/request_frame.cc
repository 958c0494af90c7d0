#include "runtime/request_frame.h"

#include "generated/api_table.h"
#include "generated/request_header.h"

namespace kafka {

RequestFrame parse_request_frame(const Bytes& frame) {
    Reader reader(frame);
    int16_t key = 0, version = 0;
    int32_t correlation_id = 0;
    try {
        key = reader.read_int16();
        version = reader.read_int16();
        correlation_id = reader.read_int32();
    } catch (const DecodeError&) {
        throw ProtocolFault("frame of " + std::to_string(frame.size()) + " bytes is too short for a request header");
    }
    const ApiInfo* api = find_api(key);
    if (api == nullptr)
        throw ProtocolFault("unknown API key " + std::to_string(key) + " (version " + std::to_string(version) +
                            ", correlation id " + std::to_string(correlation_id) + ")");
    Reader header_reader(frame);
    RequestHeader header;
    try {
        header.decode(header_reader, request_header_version(*api, version));
    } catch (const DecodeError& e) {
        throw ProtocolFault("cannot decode the request header of " + std::string(api->name) + " v" +
                            std::to_string(version) + " (correlation id " + std::to_string(correlation_id) +
                            "): " + e.what());
    }
    RequestFrame out;
    out.header.api_key = key;
    out.header.api_version = version;
    out.header.correlation_id = correlation_id;
    out.header.client_id = std::move(header.client_id);
    out.header.response_header_version = response_header_version(*api, version);
    out.body = frame.slice(header_reader.position(), frame.size() - header_reader.position());
    return out;
}

} // namespace kafka
