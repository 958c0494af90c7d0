#include "runtime/connection.h"

#include "runtime/request_frame.h"

#include "generated/api_table.h"
#include "generated/request_header.h"
#include "runtime/log.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace kafka::net {

namespace {

constexpr size_t staging_size = 64 * 1024;        // frames up to this size are read here first
constexpr size_t compact_below = 16 * 1024;       // move a partial frame to the front when less room is left
constexpr size_t read_budget = 1024 * 1024;       // bytes per readiness before other sockets get a turn
constexpr timeval flush_timeout{30, 0};           // a closing connection whose client reads nothing

uint32_t load_be32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}

std::string peer_name(const sockaddr* address) {
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (address->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(address);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        return std::string(host) + ":" + std::to_string(port);
    }
    if (address->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    std::string name = "[";   // (built by append: GCC 12 -O3 warns falsely about "[" + string)
    name.append(host).append("]:").append(std::to_string(port));
    return name;
}

std::string api_description(int16_t key, int16_t version) {
    const ApiInfo* api = find_api(key);
    return (api != nullptr ? std::string(api->name) : "API key " + std::to_string(key)) + " v" + std::to_string(version);
}

bool is_disconnect(int err) { return err == ECONNRESET || err == EPIPE || err == ETIMEDOUT; }

// The Exchange a connection hands to the dispatcher.  It holds its connection weakly: a handler that
// answers after the client left finds nobody to answer and does nothing.
class ConnectionExchange final : public Exchange {
public:
    ConnectionExchange(RequestHeaderInfo header, Bytes body, const std::shared_ptr<Connection>& connection, uint64_t seq)
      : Exchange(std::move(header), std::move(body)), connection_(connection), peer_(connection->peer()), seq_(seq) {}

    ~ConnectionExchange() override {
        if (answered_.load(std::memory_order_acquire)) return;
        // Later responses would wait for this one forever; better to say so and close.
        if (auto c = connection_.lock())
            c->request_close(seq_, "no response to " + api_description(header().api_key, version()) +
                                       " (correlation id " + std::to_string(header().correlation_id) +
                                       "): the handler dropped the request");
    }

    const std::string& peer() const override { return *peer_; }
    const void* connection_key() const override { return peer_.get(); }   // one per connection

    void close_connection(const std::string& reason) override {
        // Answered already: that answer still leaves before the connection closes.
        const bool was_answered = answered_.exchange(true, std::memory_order_acq_rel);
        if (auto c = connection_.lock()) c->request_close(was_answered ? seq_ + 1 : seq_, reason);
    }

    bool connection_open() const override {
        auto c = connection_.lock();
        return c && c->open();
    }

protected:
    void complete(std::optional<Writer> response) override {
        if (answered_.exchange(true, std::memory_order_acq_rel)) {
            log_error("server", *peer_ + ": second response to " + api_description(header().api_key, version()) + " ignored");
            return;
        }
        if (auto c = connection_.lock()) c->complete(seq_, std::move(response));
    }

private:
    std::weak_ptr<Connection> connection_;
    std::shared_ptr<const std::string> peer_;
    uint64_t seq_;
    std::atomic<bool> answered_{false};
};

} // namespace

// --- Loop ----------------------------------------------------------------------------------------

Loop::Loop(const ServerOptions& options, const Dispatcher& dispatcher) : options_(options), dispatcher_(dispatcher) {
    base_ = event_base_new();
    if (base_ == nullptr) throw std::runtime_error("cannot create an event loop");
    wake_ = event_new(base_, -1, 0, on_wake, this);
    if (wake_ == nullptr) {
        event_base_free(base_);
        throw std::runtime_error("cannot create an event");
    }
}

Loop::~Loop() {
    join();
    std::vector<std::shared_ptr<Connection>> left;   // only when the loop never ran
    for (auto& [raw, connection] : connections_) left.push_back(connection);
    for (auto& connection : left) connection->close_now();
    stop_listening();
    event_free(wake_);
    event_base_free(base_);
}

void Loop::listen(const sockaddr* address, int length) {
    listener_ = evconnlistener_new_bind(
        base_, on_accept, this,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT, 1024, address, length);
    if (listener_ == nullptr)
        throw std::runtime_error("cannot listen on " + peer_name(address) + ": " + std::strerror(errno));
    evconnlistener_set_error_cb(listener_, on_accept_error);
}

uint16_t Loop::port() const {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (listener_ == nullptr ||
        getsockname(evconnlistener_get_fd(listener_), reinterpret_cast<sockaddr*>(&address), &length) != 0)
        return 0;
    if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

void Loop::start() {
    thread_ = std::thread([this] {
        thread_id_.store(std::this_thread::get_id(), std::memory_order_release);
        event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
    });
}

void Loop::join() {
    if (thread_.joinable()) thread_.join();
}

void Loop::post(std::function<void()> task) {
    std::lock_guard lock(tasks_mutex_);
    tasks_.push_back(std::move(task));
    if (wake_pending_) return;
    wake_pending_ = true;
    event_active(wake_, EV_TIMEOUT, 0);
}

void Loop::on_wake(int, short, void* arg) {
    auto* self = static_cast<Loop*>(arg);
    std::vector<std::function<void()>> tasks;
    {
        std::lock_guard lock(self->tasks_mutex_);
        tasks.swap(self->tasks_);
        self->wake_pending_ = false;
    }
    for (auto& task : tasks) {
        try {
            task();
        } catch (const std::exception& e) {
            log_error("server", std::string("event loop task failed: ") + e.what());
        }
    }
}

void Loop::on_accept(evconnlistener*, int fd, sockaddr* address, int, void* arg) {
    auto* self = static_cast<Loop*>(arg);
    if (self->draining_) {
        ::close(fd);
        return;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    try {
        auto connection = std::make_shared<Connection>(*self, fd, peer_name(address));
        self->connections_.emplace(connection.get(), connection);
        connection->start();
    } catch (const std::exception& e) {
        log_error("server", "cannot accept " + peer_name(address) + ": " + e.what());
    }
}

void Loop::on_accept_error(evconnlistener*, void*) {
    log_error("server", std::string("accept failed: ") + evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

void Loop::stop_listening() {
    if (listener_ == nullptr) return;
    evconnlistener_free(listener_);
    listener_ = nullptr;
}

void Loop::drain(std::function<void()> on_drained) {
    draining_ = true;
    on_drained_ = std::move(on_drained);
    stop_listening();
    std::vector<std::shared_ptr<Connection>> connections;
    for (auto& [raw, connection] : connections_) connections.push_back(connection);
    for (auto& connection : connections) connection->drain();
    if (connections_.empty() && on_drained_) std::exchange(on_drained_, nullptr)();
}

void Loop::close_all_and_exit() {
    on_drained_ = nullptr;
    draining_ = true;
    stop_listening();
    std::vector<std::shared_ptr<Connection>> connections;
    for (auto& [raw, connection] : connections_) connections.push_back(connection);
    for (auto& connection : connections) connection->close_now();
    event_base_loopexit(base_, nullptr);
}

void Loop::forget(Connection* connection) {
    auto it = connections_.find(connection);
    if (it == connections_.end()) return;
    std::shared_ptr<Connection> keep = std::move(it->second);   // the caller holds another reference
    connections_.erase(it);
    if (draining_ && connections_.empty() && on_drained_) std::exchange(on_drained_, nullptr)();
}

// --- Connection ----------------------------------------------------------------------------------

Connection::Connection(Loop& loop, int fd, std::string peer)
  : loop_(loop), loop_thread_(std::this_thread::get_id()), fd_(fd), peer_(std::make_shared<const std::string>(std::move(peer))),
    staging_(std::make_unique_for_overwrite<uint8_t[]>(staging_size)) {}

Connection::~Connection() {
    // close_now() ran on the loop thread; this only covers a connection that never started.
    if (read_event_ != nullptr) event_free(read_event_);
    if (write_event_ != nullptr) event_free(write_event_);
    if (fd_ >= 0) ::close(fd_);
}

void Connection::start() {
    read_event_ = event_new(loop_.base(), fd_, EV_READ | EV_PERSIST, on_readable, this);
    write_event_ = event_new(loop_.base(), fd_, EV_WRITE | EV_PERSIST, on_writable, this);
    if (read_event_ == nullptr || write_event_ == nullptr) {
        log_error("server", "cannot set up the connection from " + *peer_);
        close_now();
        return;
    }
    event_add(read_event_, nullptr);
    reading_ = true;
}

// Any thread ------------------------------------------------------------------------------------

// Neither touches the loop unless the connection is open: a handler may answer after the server
// is gone, and then only this object (kept alive by the caller) is left.
void Connection::complete(uint64_t seq, std::optional<Writer> response) {
    if (!open()) return;
    if (std::this_thread::get_id() == loop_thread_) deliver(seq, std::move(response));
    else post_to_loop({seq, std::move(response), std::nullopt});
}

void Connection::request_close(uint64_t seq, std::string reason) {
    if (!open()) return;
    if (std::this_thread::get_id() == loop_thread_) handle_close(seq, reason);
    else post_to_loop({seq, std::nullopt, std::move(reason)});
}

void Connection::post_to_loop(InboxItem item) {
    std::lock_guard lock(inbox_mutex_);
    // close_now() clears open_ under this mutex, before the loop can go away.
    if (!open()) return;
    inbox_.push_back(std::move(item));
    if (inbox_posted_) return;
    inbox_posted_ = true;
    loop_.post([weak = weak_from_this()] {
        if (auto self = weak.lock()) self->run_inbox();
    });
}

// Loop thread -----------------------------------------------------------------------------------

void Connection::run_inbox() {
    std::vector<InboxItem> items;
    {
        std::lock_guard lock(inbox_mutex_);
        items.swap(inbox_);
        inbox_posted_ = false;
    }
    const bool was_batching = std::exchange(batching_, true);
    for (InboxItem& item : items) {
        if (closed()) break;
        if (item.close_reason) handle_close(item.seq, *item.close_reason);
        else deliver(item.seq, std::move(item.response));
    }
    batching_ = was_batching;
    if (!batching_) flush_output();
    progress();
}

void Connection::on_readable(int, short, void* arg) {
    auto self = static_cast<Connection*>(arg)->shared_from_this();
    try {
        self->read_socket();
    } catch (const std::exception& e) {
        log_error("server", "closing " + *self->peer_ + ": " + e.what());
        self->close_now();
    }
}

void Connection::on_writable(int, short what, void* arg) {
    auto self = static_cast<Connection*>(arg)->shared_from_this();
    if (what & EV_TIMEOUT) {
        log_warn("server", "closing " + *self->peer_ + ": it read nothing for " + std::to_string(flush_timeout.tv_sec) + " s");
        self->close_now();
        return;
    }
    try {
        self->flush_output();
        self->progress();
    } catch (const std::exception& e) {
        log_error("server", "closing " + *self->peer_ + ": " + e.what());
        self->close_now();
    }
}

void Connection::read_socket() {
    const bool was_batching = std::exchange(batching_, true);
    process_staged();   // what was staged while reading was paused
    size_t budget = read_budget;
    while (!closed() && reading_ && budget > 0) {
        uint8_t* into;
        size_t room;
        if (frame_) {
            into = frame_.get() + frame_have_;
            room = frame_size_ - frame_have_;
        } else {
            if (staged_begin_ == staged_end_) {
                staged_begin_ = staged_end_ = 0;
            } else if (staging_size - staged_end_ < compact_below && staged_begin_ > 0) {
                std::memmove(staging_.get(), staging_.get() + staged_begin_, staged_end_ - staged_begin_);
                staged_end_ -= staged_begin_;
                staged_begin_ = 0;
            }
            into = staging_.get() + staged_end_;
            room = staging_size - staged_end_;
        }
        const ssize_t n = ::recv(fd_, into, room, 0);
        if (n == 0) {   // the client left
            close_now();
            break;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (!is_disconnect(errno)) log_warn("server", "closing " + *peer_ + ": read failed: " + std::strerror(errno));
            close_now();
            break;
        }
        budget -= std::min(budget, static_cast<size_t>(n));
        if (frame_) {
            frame_have_ += static_cast<size_t>(n);
            if (frame_have_ == frame_size_) handle_frame(std::exchange(frame_, nullptr), frame_size_);
        } else {
            staged_end_ += static_cast<size_t>(n);
        }
        process_staged();
    }
    batching_ = was_batching;
    if (batching_) return;
    flush_output();
    progress();   // the flush may have made room to read again
}

void Connection::process_staged() {
    const ServerOptions& options = loop_.options();
    while (!closed() && reading_ && !frame_) {
        const size_t available = staged_end_ - staged_begin_;
        if (available < 4) return;
        const uint8_t* at = staging_.get() + staged_begin_;
        const int32_t length = static_cast<int32_t>(load_be32(at));
        if (length < 0 || static_cast<size_t>(length) > options.max_request_size) {
            handle_close(next_seq_, "frame length " + std::to_string(length) +
                                        (length < 0 ? " is negative"
                                                    : " is over the maximum request size " +
                                                          std::to_string(options.max_request_size)));
            return;
        }
        if (length < 8) {
            handle_close(next_seq_, "a frame of " + std::to_string(length) + " bytes cannot hold a request header");
            return;
        }
        const size_t size = static_cast<size_t>(length);
        if (4 + size > staging_size) {   // too large for staging: the rest goes straight into its buffer
            start_frame(size);
            return;
        }
        if (available < 4 + size) return;
        auto frame = std::make_shared_for_overwrite<uint8_t[]>(size);
        std::memcpy(frame.get(), at + 4, size);
        staged_begin_ += 4 + size;
        handle_frame(std::move(frame), size);
        if (!closed() && reading_ && over_limits()) pause_reading();
    }
}

void Connection::start_frame(size_t size) {
    frame_ = std::make_shared_for_overwrite<uint8_t[]>(size);
    frame_size_ = size;
    // The frame is larger than staging, so whatever is staged belongs to it.
    frame_have_ = staged_end_ - staged_begin_ - 4;
    std::memcpy(frame_.get(), staging_.get() + staged_begin_ + 4, frame_have_);
    staged_begin_ = staged_end_ = 0;
}

void Connection::handle_frame(std::shared_ptr<uint8_t[]> frame, size_t size) {
    const uint8_t* data = frame.get();
    RequestFrame request;
    try {
        request = parse_request_frame(Bytes(std::shared_ptr<const void>(frame, data), data, size));
    } catch (const ProtocolFault& e) {
        handle_close(next_seq_, e.what());
        return;
    }
    RequestHeaderInfo info = std::move(request.header);
    Bytes body = std::move(request.body);
    const int16_t key = info.api_key, version = info.api_version;

    const uint64_t seq = next_seq_++;
    in_flight_sizes_.push_back(static_cast<uint32_t>(size));
    in_flight_bytes_ += size;
    auto exchange = std::make_shared<ConnectionExchange>(std::move(info), std::move(body), shared_from_this(), seq);
    try {
        loop_.dispatcher().dispatch(exchange);
    } catch (const std::exception& e) {
        log_error("server", "dispatching " + api_description(key, version) + " failed: " + e.what());
        exchange->close_connection("dispatch failed");
    }
}

void Connection::deliver(uint64_t seq, std::optional<Writer> response) {
    if (closed()) return;
    if (seq != next_send_) {
        parked_.emplace(seq, std::move(response));
        return;
    }
    if (next_send_ < close_at_) {
        if (response && !append_output(std::move(*response))) return;
        sent_one();
    }
    while (next_send_ < close_at_ && !parked_.empty() && parked_.begin()->first == next_send_) {
        auto node = parked_.extract(parked_.begin());
        if (node.mapped() && !append_output(std::move(*node.mapped()))) return;
        sent_one();
    }
    if (!batching_) flush_output();
    progress();
}

void Connection::handle_close(uint64_t seq, const std::string& reason) {
    if (closed()) return;
    if (!closing_) {
        closing_ = true;
        log_warn("server", "closing " + *peer_ + ": " + reason);
        stop_reading();
    }
    close_at_ = std::min(close_at_, seq);
    progress();
}

bool Connection::append_output(Writer&& response) {
    std::shared_ptr<Writer> keep;   // made on the first referenced segment, shared by all of them
    const auto kept = [&]() -> std::shared_ptr<const void> {
        if (!keep) keep = std::make_shared<Writer>(std::move(response));   // moving keeps the buffers where they are
        return keep;
    };
    const std::vector<Writer::Segment> segments = response.segments();
    for (const Writer::Segment& s : segments) {
        if (s.file == nullptr) {
            if (s.size < Writer::zero_copy_threshold) output_.append_copy(s.data, s.size);
            else output_.append_reference(s.data, s.size, kept());
            continue;
        }
        if (s.size >= Writer::zero_copy_threshold) {
            output_.append_file(*s.file, 0, s.size, kept());
            continue;
        }
        // A small file range costs a syscall either way; read, it leaves in one packet with the rest.
        try {
            output_.append_copy_of_file(*s.file, 0, s.size);
        } catch (const std::exception& e) {   // the frame is partly queued: nothing sane can follow it
            log_error("server", "closing " + *peer_ + ": cannot read stored records for a response: " + e.what());
            close_now();
            return false;
        }
    }
    return true;
}

void Connection::flush_output() {
    if (closed()) return;
    const OutputQueue::SendResult sent = output_.send_to(fd_);
    if (sent.status == OutputQueue::SendResult::failed) {
        if (sent.error == 0) log_error("server", "closing " + *peer_ + ": " + sent.what);
        else if (!is_disconnect(sent.error))
            log_warn("server", "closing " + *peer_ + ": " + sent.what + ": " + std::strerror(sent.error));
        close_now();
        return;
    }
    if (output_.empty()) {
        if (writing_) {
            event_del(write_event_);
            writing_ = false;
        }
        if (flushing_) close_now();
        return;
    }
    if (!writing_ || flushing_) {   // while closing, every bit of progress restarts the timeout
        event_add(write_event_, flushing_ ? &flush_timeout : nullptr);
        writing_ = true;
    }
}

void Connection::progress() {
    if (closed()) return;
    if (closing_) {
        if (next_send_ >= close_at_) flush_then_close();
        return;
    }
    if (draining_) {
        if (next_send_ == next_seq_) flush_then_close();
        return;
    }
    const ServerOptions& options = loop_.options();
    if (reading_ && over_limits())
        pause_reading();
    else if (paused_ && in_flight() <= std::max<size_t>(1, options.max_in_flight_requests) / 2 &&
             in_flight_bytes_ <= options.max_in_flight_bytes / 2 && pending_output() <= options.max_pending_output / 2)
        resume_reading();
}

// The unanswered requests are bounded in number and in bytes (a SeaweedMQ append holds its records
// until the broker acknowledges them; rdkafka sends up to a million requests without waiting), and so is
// the output that the client has not read.  One request is always let in, however large.
bool Connection::over_limits() const {
    const ServerOptions& options = loop_.options();
    return in_flight() >= std::max<size_t>(1, options.max_in_flight_requests) ||
           (in_flight() > 0 && in_flight_bytes_ >= options.max_in_flight_bytes) ||
           pending_output() > options.max_pending_output;
}

void Connection::sent_one() {
    ++next_send_;
    in_flight_bytes_ -= in_flight_sizes_.front();
    in_flight_sizes_.pop_front();
}

void Connection::stop_reading() {
    if (!reading_) return;
    event_del(read_event_);
    reading_ = false;
}

void Connection::pause_reading() {
    paused_ = true;
    stop_reading();
}

void Connection::resume_reading() {
    paused_ = false;
    event_add(read_event_, nullptr);
    reading_ = true;
    // Frames already staged would otherwise wait for the client to send more.  Through the loop,
    // not from here: we may be deep inside a read already.
    if (staged_end_ > staged_begin_) event_active(read_event_, EV_READ, 1);
}

void Connection::flush_then_close() {
    if (flushing_ || closed()) return;
    flushing_ = true;
    stop_reading();
    if (!batching_) flush_output();   // closes at once when nothing is left to send
}

void Connection::drain() {
    if (closed()) return;
    draining_ = true;
    stop_reading();
    progress();
}

void Connection::close_now() {
    if (closed()) return;
    {
        std::lock_guard lock(inbox_mutex_);
        open_.store(false, std::memory_order_release);
        inbox_.clear();
    }
    if (read_event_ != nullptr) event_free(read_event_);
    if (write_event_ != nullptr) event_free(write_event_);
    read_event_ = write_event_ = nullptr;
    reading_ = writing_ = false;
    output_.clear();   // releases referenced response buffers and stored files
    ::close(fd_);
    fd_ = -1;
    parked_.clear();
    frame_.reset();
    loop_.forget(this);
}

size_t Connection::pending_output() const { return output_.size(); }

} // namespace kafka::net
