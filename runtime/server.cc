#include "runtime/server.h"

#include "runtime/connection.h"

#include <event2/thread.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace kafka {

namespace {

struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;

    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
    void set_port(uint16_t port) {
        if (storage.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
        else reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
    }
};

Address resolve(const std::string& host, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (rc != 0 || found == nullptr)
        throw std::runtime_error("cannot resolve " + host + ": " + gai_strerror(rc));
    Address address;
    std::memcpy(&address.storage, found->ai_addr, found->ai_addrlen);
    address.length = found->ai_addrlen;
    freeaddrinfo(found);
    return address;
}

void enable_libevent_threads() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (evthread_use_pthreads() != 0) throw std::runtime_error("libevent has no pthreads support");
    });
}

} // namespace

struct Server::Impl {
    enum class State { created, running, stopping, stopped };

    Impl(ServerOptions o, const Dispatcher& d) : options(std::move(o)), dispatcher(d) {}

    ServerOptions options;
    const Dispatcher& dispatcher;
    std::vector<std::unique_ptr<net::Loop>> loops;
    uint16_t port = 0;

    std::mutex mutex;
    std::condition_variable changed;
    State state = State::created;
    size_t drained = 0;   // loops whose connections are all answered and closed
};

Server::Server(ServerOptions options, const Dispatcher& dispatcher)
  : impl_(std::make_unique<Impl>(std::move(options), dispatcher)) {}

Server::~Server() { stop(0); }

void Server::start() {
    Impl& s = *impl_;
    {
        std::lock_guard lock(s.mutex);
        if (s.state != Impl::State::created) throw std::logic_error("Server::start called twice");
    }
    enable_libevent_threads();
    Address address = resolve(s.options.host, s.options.port);
    const int threads = s.options.threads > 0 ? s.options.threads
                                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    try {
        for (int i = 0; i < threads; ++i) {
            auto loop = std::make_unique<net::Loop>(s.options, s.dispatcher);
            loop->listen(address.get(), static_cast<int>(address.length));
            if (i == 0) {   // with port 0, the other loops join the port the first one got
                s.port = loop->port();
                address.set_port(s.port);
            }
            s.loops.push_back(std::move(loop));
        }
    } catch (...) {
        s.loops.clear();
        throw;
    }
    for (auto& loop : s.loops) loop->start();
    std::lock_guard lock(s.mutex);
    s.state = Impl::State::running;
}

uint16_t Server::port() const { return impl_->port; }

void Server::stop(int grace_ms) {
    Impl& s = *impl_;
    {
        std::unique_lock lock(s.mutex);
        for (auto& loop : s.loops)
            if (loop->in_loop_thread()) throw std::logic_error("Server::stop called from an event loop thread");
        if (s.state == Impl::State::created) {
            s.state = Impl::State::stopped;
            s.changed.notify_all();
            return;
        }
        if (s.state != Impl::State::running) {   // another thread is stopping it
            s.changed.wait(lock, [&] { return s.state == Impl::State::stopped; });
            return;
        }
        s.state = Impl::State::stopping;
        s.drained = 0;
    }

    // No new connections or requests; what was read is answered and sent, then each connection closes.
    for (auto& each : s.loops) {
        net::Loop* loop = each.get();
        loop->post([&s, loop] {
            loop->drain([&s] {
                std::lock_guard lock(s.mutex);
                ++s.drained;
                s.changed.notify_all();
            });
        });
    }
    {
        std::unique_lock lock(s.mutex);
        s.changed.wait_for(lock, std::chrono::milliseconds(std::max(0, grace_ms)),
                           [&] { return s.drained == s.loops.size(); });
    }
    for (auto& each : s.loops) {
        net::Loop* loop = each.get();
        loop->post([loop] { loop->close_all_and_exit(); });
    }
    for (auto& loop : s.loops) loop->join();

    std::lock_guard lock(s.mutex);
    s.state = Impl::State::stopped;
    s.changed.notify_all();
}

void Server::wait() {
    Impl& s = *impl_;
    std::unique_lock lock(s.mutex);
    s.changed.wait(lock, [&] { return s.state == Impl::State::stopped; });
}

} // namespace kafka
