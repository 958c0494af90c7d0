#include "gateway/config.h"

#include "runtime/log.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace gateway {
namespace {

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r");
    size_t e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

int64_t parse_int(const std::string& name, const std::string& value) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size())
        throw ConfigError(name + ": expected a whole number, got '" + value + "'");
    return v;
}

bool parse_bool(const std::string& name, const std::string& value) {
    if (value == "true") return true;
    if (value == "false") return false;
    throw ConfigError(name + ": expected true or false, got '" + value + "'");
}

// host:port, or PLAINTEXT://host:port as in Kafka's listeners (the first listener when several).
HostPort parse_host_port(const std::string& name, std::string value) {
    if (auto comma = value.find(','); comma != std::string::npos) value = value.substr(0, comma);
    if (auto scheme = value.find("://"); scheme != std::string::npos) {
        std::string protocol = value.substr(0, scheme);
        if (protocol != "PLAINTEXT" && protocol.find(':') == std::string::npos && protocol != "plaintext")
            throw ConfigError(name + ": only PLAINTEXT listeners are supported, got '" + value + "'");
        value = value.substr(scheme + 3);
    }
    auto colon = value.rfind(':');
    if (colon == std::string::npos) throw ConfigError(name + ": expected host:port, got '" + value + "'");
    HostPort hp;
    hp.host = value.substr(0, colon);
    if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']') hp.host = hp.host.substr(1, hp.host.size() - 2);
    int64_t port = parse_int(name, value.substr(colon + 1));
    if (port < 0 || port > 65535) throw ConfigError(name + ": port " + std::to_string(port) + " is out of range");
    hp.port = static_cast<uint16_t>(port);
    if (hp.host.empty()) hp.host = "0.0.0.0";
    return hp;
}

void load_properties(Config& config, const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ConfigError("cannot read config file " + path);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        line = trim(line);
        if (line.empty() || line[0] == '#' || line[0] == '!') continue;
        size_t sep = line.find_first_of("=:");
        if (sep == std::string::npos) throw ConfigError(path + ":" + std::to_string(number) + ": expected name=value");
        try {
            apply_property(config, trim(line.substr(0, sep)), trim(line.substr(sep + 1)));
        } catch (const ConfigError& e) {
            throw ConfigError(path + ":" + std::to_string(number) + ": " + e.what());
        }
    }
}

} // namespace

void apply_property(Config& c, const std::string& name, const std::string& value) {
    auto positive = [&](int64_t v) {
        if (v <= 0) throw ConfigError(name + ": must be positive, got " + value);
        return v;
    };
    auto nonnegative = [&](int64_t v) {
        if (v < 0) throw ConfigError(name + ": must not be negative, got " + value);
        return v;
    };
    if (name == "listeners") c.listen = parse_host_port(name, value);
    else if (name == "advertised.listeners") c.advertised = parse_host_port(name, value);
    else if (name == "log.dirs" || name == "log.dir" || name == "storage")
        c.storage_url = value.find("://") == std::string::npos ? "file://" + value : value;
    else if (name == "num.network.threads" || name == "threads") c.threads = static_cast<int>(parse_int(name, value));
    else if (name == "log.level") c.log_level = value;
    else if (name == "node.id" || name == "broker.id") c.node_id = static_cast<int32_t>(nonnegative(parse_int(name, value)));
    else if (name == "cluster.heartbeat.interval.ms") c.cluster.heartbeat_interval_ms = positive(parse_int(name, value));
    else if (name == "cluster.session.timeout.ms") c.cluster.session_timeout_ms = positive(parse_int(name, value));
    else if (name == "cluster.id") c.cluster_id = value;
    else if (name == "auto.create.topics.enable") c.auto_create_topics = parse_bool(name, value);
    else if (name == "num.partitions") c.default_partitions = static_cast<int32_t>(positive(parse_int(name, value)));
    else if (name == "socket.request.max.bytes") c.max_request_size = static_cast<size_t>(positive(parse_int(name, value)));
    else if (name == "num.io.threads") c.io_threads = static_cast<int>(positive(parse_int(name, value)));
    else if (name == "connection.max.inflight.request.bytes")
        c.max_in_flight_request_bytes = static_cast<size_t>(positive(parse_int(name, value)));
    else if (name == "log.flush.interval.messages") {
        // 1 means every batch is flushed before it is acknowledged; anything else, time-based.
        if (parse_int(name, value) == 1) c.storage.fsync = FsyncPolicy::every_batch;
    } else if (name == "log.flush.interval.ms") {
        c.storage.fsync_interval_ms = positive(parse_int(name, value));
        if (c.storage.fsync != FsyncPolicy::every_batch) c.storage.fsync = FsyncPolicy::interval;
    } else if (name == "log.flush.policy") {   // ours: never | batch | interval
        if (value == "never") c.storage.fsync = FsyncPolicy::never;
        else if (value == "batch") c.storage.fsync = FsyncPolicy::every_batch;
        else if (value == "interval") c.storage.fsync = FsyncPolicy::interval;
        else throw ConfigError(name + ": expected never, batch or interval, got '" + value + "'");
    } else if (name == "log.retention.ms") c.storage.default_topic_config.retention_ms = parse_int(name, value);
    else if (name == "log.retention.minutes") c.storage.default_topic_config.retention_ms = parse_int(name, value) * 60000;
    else if (name == "log.retention.hours") c.storage.default_topic_config.retention_ms = parse_int(name, value) * 3600000;
    else if (name == "log.retention.bytes") c.storage.default_topic_config.retention_bytes = parse_int(name, value);
    else if (name == "log.segment.bytes") c.storage.default_topic_config.segment_bytes = positive(parse_int(name, value));
    else if (name == "log.retention.check.interval.ms") c.storage.retention_check_interval_ms = positive(parse_int(name, value));
    else if (name == "group.initial.rebalance.delay.ms") {
        c.groups.initial_rebalance_delay_ms = parse_int(name, value);
        if (c.groups.initial_rebalance_delay_ms < 0) throw ConfigError(name + ": must not be negative, got " + value);
    } else if (name == "group.min.session.timeout.ms")
        c.groups.min_session_timeout_ms = static_cast<int32_t>(positive(parse_int(name, value)));
    else if (name == "group.max.session.timeout.ms")
        c.groups.max_session_timeout_ms = static_cast<int32_t>(positive(parse_int(name, value)));
    else if (name == "group.max.size") c.groups.max_size = static_cast<int32_t>(positive(parse_int(name, value)));
    else if (name == "offsets.retention.minutes") c.groups.offsets_retention_ms = positive(parse_int(name, value)) * 60000;
    else if (name == "offsets.retention.check.interval.ms")
        c.groups.offsets_retention_check_interval_ms = positive(parse_int(name, value));
    else if (name == "max.incremental.fetch.session.cache.slots")
        c.fetch_session_cache_slots = static_cast<size_t>(nonnegative(parse_int(name, value)));
    else if (name == "offset.metadata.max.bytes")
        c.groups.offset_metadata_max_bytes = static_cast<size_t>(positive(parse_int(name, value)));
    else kafka::log_warn("config", "ignoring unknown property " + name);
}

std::string usage() {
    return "usage: kafka-gateway [options]\n"
           "  --listen HOST:PORT              where to accept clients (default 127.0.0.1:9092)\n"
           "  --advertised-listener HOST:PORT address given to clients in Metadata (default: --listen)\n"
           "  --storage URL                   file://DIR (default file://./kafka-gateway-data),\n"
           "                                  seaweedmq://MASTER_HOST:PORT[?namespace=kafka] or memory://\n"
           "  --threads N                     event loops (default: one per core)\n"
           "  --node-id N                     this gateway's broker id (default 1); unique among the\n"
           "                                  gateways sharing one seaweedmq:// namespace\n"
           "  --config FILE                   Kafka-style properties (listeners, log.dirs, num.partitions,\n"
           "                                  auto.create.topics.enable, log.retention.*, log.flush.*,\n"
           "                                  cluster.heartbeat.interval.ms, cluster.session.timeout.ms, ...)\n"
           "  --log-level LEVEL               debug, info, warn or error (default info)\n"
           "  --help, --version\n";
}

Action parse_command_line(int argc, const char* const* argv, Config& config) {
    // The file first, so that flags given beside it win whatever their order.
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--config") load_properties(config, argv[i + 1]);
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        if (arg == "--help" || arg == "-h") return Action::help;
        if (arg == "--version") return Action::version;
        auto next = [&]() -> std::string {
            if (!value.empty()) return value;
            if (i + 1 >= argc) throw ConfigError(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--listen") config.listen = parse_host_port(arg, next());
        else if (arg == "--advertised-listener") config.advertised = parse_host_port(arg, next());
        else if (arg == "--storage") config.storage_url = next();
        else if (arg == "--threads") config.threads = static_cast<int>(parse_int(arg, next()));
        else if (arg == "--log-level") config.log_level = next();
        else if (arg == "--node-id") apply_property(config, "node.id", next());
        else if (arg == "--config") next();   // already loaded
        else throw ConfigError("unknown option " + arg + " (try --help)");
    }
    kafka::LogLevel level;
    if (!kafka::parse_log_level(config.log_level, level))
        throw ConfigError("--log-level: expected debug, info, warn or error, got '" + config.log_level + "'");
    if (config.threads < 0) throw ConfigError("--threads must not be negative");
    if (config.cluster.session_timeout_ms <= 2 * config.cluster.heartbeat_interval_ms)
        throw ConfigError("cluster.session.timeout.ms must be more than twice cluster.heartbeat.interval.ms");
    return Action::run;
}

} // namespace gateway

namespace gateway {

std::string set_topic_config(TopicConfig& c, const std::string& name, const std::string& value) {
    auto number = [&](int64_t& out) -> std::string {
        try {
            out = parse_int(name, value);
            return "";
        } catch (const ConfigError& e) {
            return e.what();
        }
    };
    if (name == "retention.ms") return number(c.retention_ms);
    if (name == "retention.bytes") return number(c.retention_bytes);
    if (name == "segment.bytes") return number(c.segment_bytes);
    if (name == "segment.ms") return number(c.segment_ms);
    if (name == "max.message.bytes") {
        int64_t v = 0;
        std::string e = number(v);
        if (e.empty()) c.max_message_bytes = static_cast<int32_t>(v);
        return e;
    }
    if (name == "message.timestamp.type") {
        if (value != "CreateTime" && value != "LogAppendTime")
            return name + ": expected CreateTime or LogAppendTime, got '" + value + "'";
        c.log_append_time = value == "LogAppendTime";
        return "";
    }
    if (name == "cleanup.policy") {
        if (value != "delete") return "cleanup.policy: only delete is supported, got '" + value + "'";
        c.cleanup_policy = value;
        return "";
    }
    c.other[name] = value;
    return "";
}

} // namespace gateway
