#include "gateway/storage/seaweedmq/seaweedmq_url.h"

#include <charconv>
#include <stdexcept>

namespace gateway::seaweedmq {
namespace {

bool parse_port(std::string_view s, int& port) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
    return ec == std::errc() && end == s.data() + s.size() && port > 0 && port <= 65535;
}

// A namespace becomes a SeaweedMQ directory name (/topics/<namespace>/...): Kafka's topic-name
// alphabet, nothing that could climb out of it.
bool legal_namespace(std::string_view ns) {
    if (ns.empty() || ns.size() > 200 || ns == "." || ns == "..") return false;
    for (char c : ns)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    return true;
}

} // namespace

std::string grpc_address(std::string_view address) {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        throw std::runtime_error("'" + std::string(address) + "' is not host:port");
    const std::string_view host = address.substr(0, colon);
    std::string_view port = address.substr(colon + 1);
    int grpc_port = 0;
    if (const size_t dot = port.find('.'); dot != std::string_view::npos) {
        int http_port = 0;
        if (!parse_port(port.substr(0, dot), http_port) || !parse_port(port.substr(dot + 1), grpc_port))
            throw std::runtime_error("'" + std::string(address) + "' has a bad port (host:port or host:port.grpcport)");
    } else {
        int http_port = 0;
        if (!parse_port(port, http_port) || http_port + 10000 > 65535)
            throw std::runtime_error("'" + std::string(address) + "' has a bad port (host:port or host:port.grpcport)");
        grpc_port = http_port + 10000;
    }
    return std::string(host) + ":" + std::to_string(grpc_port);
}

SeaweedMqUrl parse_seaweedmq_url(std::string_view url) {
    constexpr std::string_view scheme = "seaweedmq://";
    const std::string whole(url);
    if (!url.starts_with(scheme)) throw std::runtime_error("'" + whole + "' is not a seaweedmq:// URL");
    std::string_view rest = url.substr(scheme.size());
    std::string_view query;
    if (const size_t q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.empty()) throw std::runtime_error("storage URL '" + whole + "' names no master (seaweedmq://HOST:PORT)");
    SeaweedMqUrl out;
    out.master = std::string(rest);
    try {
        out.master_grpc = grpc_address(rest);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error("storage URL '" + whole + "': master " + e.what());
    }
    while (!query.empty()) {
        const size_t amp = query.find('&');
        const std::string_view param = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (param.empty()) continue;
        const size_t eq = param.find('=');
        const std::string_view name = param.substr(0, eq);
        const std::string_view value = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
        if (name == "namespace") {
            if (!legal_namespace(value))
                throw std::runtime_error("storage URL '" + whole + "': namespace '" + std::string(value) +
                                         "' must be 1 to 200 of [a-zA-Z0-9._-]");
            out.namespace_ = std::string(value);
        } else if (name == "acks_all") {
            if (value != "flushed" && value != "buffered")
                throw std::runtime_error("storage URL '" + whole + "': acks_all must be flushed or buffered, not '" +
                                         std::string(value) + "'");
            out.acks_all_flushed = value == "flushed";
        } else {
            throw std::runtime_error("storage URL '" + whole + "': unknown parameter '" + std::string(name) +
                                     "' (known: namespace, acks_all)");
        }
    }
    return out;
}

} // namespace gateway::seaweedmq
