#include "gateway/cluster/gateway_registry.h"

#include "runtime/log.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <random>
#include <stdexcept>

namespace gateway {
namespace {

int64_t system_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string random_instance() {
    std::random_device rd;
    char buf[33];
    std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
    return buf;
}

std::string describe(const GatewayNode& n) {
    return "node " + std::to_string(n.node_id) + " (" + n.host + ":" + std::to_string(n.port) + ")";
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

// A record this many session timeouts old is removed by whoever reads it.
constexpr int64_t forget_after_sessions = 10;

} // namespace

uint32_t placement_hash(std::string_view s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

const GatewayNode* ClusterView::find(int32_t node_id) const {
    for (const GatewayNode& n : nodes)
        if (n.node_id == node_id) return &n;
    return nullptr;
}

const GatewayNode& ClusterView::partition_leader(std::string_view topic, int32_t partition) const {
    const uint64_t slot = uint64_t{placement_hash(topic)} + static_cast<uint32_t>(partition);
    return nodes[slot % nodes.size()];
}

const GatewayNode& ClusterView::group_coordinator(std::string_view group_id) const {
    return nodes[placement_hash(group_id) % nodes.size()];
}

GatewayRegistry::GatewayRegistry(MetadataStore* store, GatewayNode self, RegistryOptions options, NowMs now)
  : store_(store), self_(std::move(self)), options_(options), now_(now ? std::move(now) : NowMs(system_now_ms)),
    instance_(random_instance()) {
    auto v = std::make_shared<ClusterView>();
    v->nodes = {self_};
    view_ = std::move(v);
}

GatewayRegistry::~GatewayRegistry() { stop(); }

std::string GatewayRegistry::key_of(int32_t node_id) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%010d", node_id);   // key order is node order
    return std::string(key_prefix) + buf;
}

std::string GatewayRegistry::encode(const Record& r) {
    return "node.id=" + std::to_string(r.node.node_id) + "\nhost=" + r.node.host +
           "\nport=" + std::to_string(r.node.port) + "\ninstance=" + r.instance +
           "\nheartbeat.ms=" + std::to_string(r.heartbeat_ms) + "\n";
}

bool GatewayRegistry::decode(std::string_view text, Record& out) {
    int fields = 0;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view name = line.substr(0, eq), value = line.substr(eq + 1);
        if (name == "node.id" && parse_number(value, out.node.node_id)) fields |= 1;
        else if (name == "host") out.node.host = value, fields |= 2;
        else if (name == "port" && parse_number(value, out.node.port)) fields |= 4;
        else if (name == "instance") out.instance = value, fields |= 8;
        else if (name == "heartbeat.ms" && parse_number(value, out.heartbeat_ms)) fields |= 16;
        // Unknown names: written by a newer gateway; ignored.
    }
    return fields == 31;
}

std::vector<GatewayRegistry::Record> GatewayRegistry::read_records() const {
    std::vector<Record> out;
    for (const auto& [key, value] : store_->scan(key_prefix)) {
        Record r;
        if (decode(value, r)) out.push_back(std::move(r));
        else kafka::log_warn("registry", "skipping unreadable gateway record " + key);
    }
    return out;
}

void GatewayRegistry::set_listener(Listener listener) {
    std::lock_guard lock(mutex_);
    listener_ = std::move(listener);
}

std::shared_ptr<const ClusterView> GatewayRegistry::view() const {
    std::lock_guard lock(mutex_);
    return view_;
}

void GatewayRegistry::start() {
    if (!store_) return;
    const int64_t now = now_();
    for (const Record& r : read_records()) {
        if (r.node.node_id != self_.node_id || now - r.heartbeat_ms >= options_.session_timeout_ms) continue;
        if (r.node.host != self_.host || r.node.port != self_.port)
            throw std::runtime_error("node.id " + std::to_string(self_.node_id) + " is already used by a live gateway at " +
                                     r.node.host + ":" + std::to_string(r.node.port) + " (heartbeat " +
                                     std::to_string(now - r.heartbeat_ms) +
                                     " ms ago); give every gateway sharing this storage its own --node-id");
        kafka::log_info("registry", "taking over the registration of this gateway's previous process (" +
                                        describe(r.node) + ", heartbeat " + std::to_string(now - r.heartbeat_ms) +
                                        " ms ago)");
    }
    if (!heartbeat())
        throw std::runtime_error("cannot register this gateway in the shared storage's registry");
    {
        std::lock_guard lock(mutex_);
        registered_ = true;
    }
    thread_ = std::thread([this] {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            wake_.wait_for(lock, std::chrono::milliseconds(options_.heartbeat_interval_ms));
            if (stopping_) break;
            lock.unlock();
            heartbeat();
            lock.lock();
        }
    });
}

bool GatewayRegistry::heartbeat() {
    if (!store_) return true;
    const int64_t now = now_();
    const MetadataWrite mine{key_of(self_.node_id), encode({self_, instance_, now})};
    bool ok = store_->apply({&mine, 1}) == StorageErrc::none;
    int64_t silent_ms = 0;
    {
        std::lock_guard lock(mutex_);
        if (ok) last_written_ms_ = now;
        silent_ms = now - last_written_ms_;
    }
    if (!ok && silent_ms >= options_.session_timeout_ms)
        kafka::log_error("registry", "no heartbeat written for " + std::to_string(silent_ms) +
                                         " ms: the other gateways consider this one gone and take over its groups");

    std::vector<GatewayNode> live{self_};
    std::vector<MetadataWrite> forget;
    try {
        for (Record& r : read_records()) {
            if (r.node.node_id == self_.node_id) {
                if (r.instance != instance_)
                    kafka::log_error("registry", "another process registered this gateway's node id " +
                                                     std::to_string(self_.node_id) + " from " + r.node.host + ":" +
                                                     std::to_string(r.node.port));
                continue;
            }
            const int64_t age = now - r.heartbeat_ms;
            if (age < options_.session_timeout_ms) live.push_back(std::move(r.node));
            else if (age > forget_after_sessions * options_.session_timeout_ms)
                forget.push_back({key_of(r.node.node_id), std::nullopt});
        }
    } catch (const std::exception& e) {
        kafka::log_warn("registry", std::string("reading the gateway registry failed: ") + e.what());
        return false;
    }
    if (!forget.empty()) store_->apply(forget);
    std::sort(live.begin(), live.end(), [](const GatewayNode& a, const GatewayNode& b) { return a.node_id < b.node_id; });
    publish(std::move(live));
    return ok;
}

void GatewayRegistry::publish(std::vector<GatewayNode> nodes) {
    std::shared_ptr<const ClusterView> changed;
    Listener listener;
    {
        std::lock_guard lock(mutex_);
        if (view_->nodes == nodes) return;
        for (const GatewayNode& n : nodes)
            if (!view_->find(n.node_id)) kafka::log_info("registry", "gateway " + describe(n) + " joined");
        for (const GatewayNode& n : view_->nodes)
            if (std::find(nodes.begin(), nodes.end(), n) == nodes.end())
                kafka::log_info("registry", "gateway " + describe(n) + " left");
        auto v = std::make_shared<ClusterView>();
        v->version = view_->version + 1;
        v->nodes = std::move(nodes);
        view_ = v;
        changed = std::move(v);
        listener = listener_;
    }
    if (listener) listener(changed);
}

void GatewayRegistry::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        stopping_ = true;
        wake_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    bool registered;
    {
        std::lock_guard lock(mutex_);
        registered = registered_;
    }
    if (store_ && registered) {
        const MetadataWrite gone{key_of(self_.node_id), std::nullopt};
        if (store_->apply({&gone, 1}) != StorageErrc::none)
            kafka::log_warn("registry", "could not remove this gateway's registration; it expires in " +
                                            std::to_string(options_.session_timeout_ms) + " ms");
    }
}

} // namespace gateway
