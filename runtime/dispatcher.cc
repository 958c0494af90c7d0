#include "runtime/dispatcher.h"

#include "generated/api_table.h"
#include "generated/api_versions_response.h"
#include "runtime/log.h"

#include <stdexcept>
#include <string>

namespace kafka {

namespace {

constexpr int16_t api_versions_key = 18;
constexpr int16_t unsupported_version = 35;   // UNSUPPORTED_VERSION

std::string api_name(int16_t key) {
    const ApiInfo* api = find_api(key);
    return api != nullptr ? std::string(api->name) : "API key " + std::to_string(key);
}

} // namespace

void Dispatcher::add(int16_t key, int16_t min_version, int16_t max_version, Handle handle) {
    if (key < 0 || min_version < 0 || min_version > max_version || !handle)
        throw std::logic_error("bad registration for API key " + std::to_string(key));
    if (static_cast<size_t>(key) >= by_key_.size()) {
        const size_t old = by_key_.size();
        by_key_.resize(static_cast<size_t>(key) + 1);
        for (size_t k = old; k < by_key_.size(); ++k) by_key_[k].key = static_cast<int16_t>(k);
    }
    Registration& r = by_key_[static_cast<size_t>(key)];
    if (r.handle) throw std::logic_error("API key " + std::to_string(key) + " registered twice");
    r = Registration{key, min_version, max_version, std::move(handle)};
}

const Dispatcher::Registration* Dispatcher::find(int16_t key) const {
    if (key < 0 || static_cast<size_t>(key) >= by_key_.size()) return nullptr;
    const Registration& r = by_key_[static_cast<size_t>(key)];
    return r.handle ? &r : nullptr;
}

std::vector<Dispatcher::Registration> Dispatcher::registrations() const {
    std::vector<Registration> out;
    for (const Registration& r : by_key_)
        if (r.handle) out.push_back(r);
    return out;
}

void Dispatcher::wrap(int16_t key, const std::function<Handle(Handle)>& wrapper) {
    if (key < 0 || static_cast<size_t>(key) >= by_key_.size() || !by_key_[static_cast<size_t>(key)].handle)
        throw std::logic_error("API key " + std::to_string(key) + " is not registered");
    Registration& r = by_key_[static_cast<size_t>(key)];
    r.handle = wrapper(std::move(r.handle));
}

void Dispatcher::dispatch(const ExchangePtr& exchange) const {
    const RequestHeaderInfo& h = exchange->header();
    const Registration* r = find(h.api_key);
    if (r == nullptr) {
        exchange->close_connection("unknown API key " + std::to_string(h.api_key));
        return;
    }
    if (h.api_version < r->min_version || h.api_version > r->max_version) {
        if (h.api_key == api_versions_key) {
            // The client cannot know our range before this reply, so it gets one it can read.
            ApiVersionsResponse response;
            response.error_code = unsupported_version;
            for (const Registration& each : by_key_)
                if (each.handle) response.api_keys.push_back({each.key, each.min_version, each.max_version, {}});
            exchange->respond_at_version(response, 0);
            return;
        }
        exchange->close_connection("unsupported version " + std::to_string(h.api_version) + " of API " +
                                   api_name(h.api_key) + " (supported " + std::to_string(r->min_version) + "-" +
                                   std::to_string(r->max_version) + ")");
        return;
    }
    run_handler(r->handle, exchange);
}

void Dispatcher::run_handler(const Handle& handle, const ExchangePtr& exchange) {
    const RequestHeaderInfo& h = exchange->header();
    try {
        handle(exchange);
    } catch (const DecodeError& e) {
        exchange->close_connection("cannot decode " + api_name(h.api_key) + " v" + std::to_string(h.api_version) +
                                   " request: " + e.what());
    } catch (const std::exception& e) {
        // A handler bug, not the peer's fault; the connection cannot go on without this response.
        log_error("server", "handler for " + api_name(h.api_key) + " v" + std::to_string(h.api_version) +
                                " failed: " + e.what());
        exchange->close_connection("handler failed");
    }
}

} // namespace kafka
