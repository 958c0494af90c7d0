// The server's moving parts, internal to runtime/server.cc and runtime/connection.cc: an event loop
// thread (Loop) and one client connection on it (Connection).
//
// Everything a Loop or Connection owns is touched only on its loop's thread, except what is marked
// "any thread": completions and close requests that handlers send from elsewhere go through a small
// mutex-guarded inbox and a wake-up task posted to the loop.
//
// The connection reads and writes its socket itself rather than through a bufferevent: libevent 2.1
// reads at most 4 KiB per call into an evbuffer, so a 1 MiB produce would take 256 loop turns.  Small
// frames are read into a staging buffer and copied out once; the rest of a large frame is read
// straight into the frame's own buffer.  Output goes to an OutputQueue (runtime/output_queue.h: small
// segments copied, large ones referenced, stored records as file ranges sent with sendfile(2)); a
// vanished client cannot raise SIGPIPE (sendmsg with MSG_NOSIGNAL; sendfile relies on main() ignoring
// SIGPIPE, as it does).
#pragma once

#include "runtime/dispatcher.h"
#include "runtime/output_queue.h"
#include "runtime/server.h"

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct event;
struct event_base;
struct evconnlistener;
struct sockaddr;

namespace kafka::net {

class Connection;

class Loop {
public:
    Loop(const ServerOptions& options, const Dispatcher& dispatcher);
    ~Loop();   // after join(); every connection is closed by then
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    // Binds a listener (SO_REUSEPORT, so every loop can listen on the same port); throws
    // std::runtime_error when it cannot.  Before start().
    void listen(const sockaddr* address, int length);
    uint16_t port() const;

    void start();
    void join();

    // Any thread: runs `task` on the loop thread (never inline).
    void post(std::function<void()> task);
    bool in_loop_thread() const { return thread_id_.load(std::memory_order_acquire) == std::this_thread::get_id(); }

    // Loop thread.  drain: no new connections or requests; `on_drained` runs once every connection
    // has answered what it read and is closed.  close_all_and_exit: closes what is left, ends the loop.
    void drain(std::function<void()> on_drained);
    void close_all_and_exit();
    void forget(Connection* connection);   // a connection closed itself

    const ServerOptions& options() const { return options_; }
    const Dispatcher& dispatcher() const { return dispatcher_; }
    event_base* base() const { return base_; }

private:
    static void on_accept(evconnlistener* listener, int fd, sockaddr* address, int length, void* arg);
    static void on_accept_error(evconnlistener* listener, void* arg);
    static void on_wake(int fd, short what, void* arg);
    void stop_listening();

    const ServerOptions& options_;
    const Dispatcher& dispatcher_;
    event_base* base_ = nullptr;
    event* wake_ = nullptr;
    evconnlistener* listener_ = nullptr;
    std::thread thread_;
    std::atomic<std::thread::id> thread_id_{};

    std::mutex tasks_mutex_;
    std::vector<std::function<void()>> tasks_;
    bool wake_pending_ = false;

    std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;
    bool draining_ = false;
    std::function<void()> on_drained_;
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(Loop& loop, int fd, std::string peer);   // on the loop's thread
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void start();   // loop thread, once the loop holds the shared_ptr

    const std::shared_ptr<const std::string>& peer() const { return peer_; }
    // Any thread.
    bool open() const { return open_.load(std::memory_order_acquire); }
    // Any thread: the response (or none) of exchange `seq`.
    void complete(uint64_t seq, std::optional<Writer> response);
    // Any thread: close once the responses before `seq` are out (logging `reason`).
    void request_close(uint64_t seq, std::string reason);

    // Loop thread.
    void drain();       // the server is stopping: read nothing more, close once all is answered
    void close_now();   // closes the socket and drops whatever is unsent

private:
    struct InboxItem {
        uint64_t seq;
        std::optional<Writer> response;
        std::optional<std::string> close_reason;   // set: a close request, not a completion
    };

    static void on_readable(int fd, short what, void* arg);
    static void on_writable(int fd, short what, void* arg);

    void post_to_loop(InboxItem item);
    void run_inbox();
    void read_socket();
    void process_staged();
    void start_frame(size_t length);
    void handle_frame(std::shared_ptr<uint8_t[]> frame, size_t length);
    void deliver(uint64_t seq, std::optional<Writer> response);
    void handle_close(uint64_t seq, const std::string& reason);
    bool append_output(Writer&& response);   // false: the connection closed (a stored file read failed)
    void flush_output();
    void progress();
    void stop_reading();
    void pause_reading();
    void resume_reading();
    void flush_then_close();
    bool closed() const { return fd_ < 0; }
    size_t in_flight() const { return static_cast<size_t>(next_seq_ - next_send_); }
    size_t pending_output() const;
    bool over_limits() const;   // reading is to pause
    void sent_one();            // the response of next_send_ is out (or there is none): on to the next

    Loop& loop_;
    const std::thread::id loop_thread_;   // made on its loop's thread, and never moves
    int fd_;
    std::shared_ptr<const std::string> peer_;
    std::atomic<bool> open_{true};

    // Loop thread only.
    event* read_event_ = nullptr;
    event* write_event_ = nullptr;
    OutputQueue output_;
    bool reading_ = false;        // read_event_ added
    bool writing_ = false;        // write_event_ added
    bool paused_ = false;         // backpressure
    bool closing_ = false;        // close requested (reason logged)
    bool draining_ = false;       // server stopping
    bool flushing_ = false;       // last output leaving, then close
    bool batching_ = false;       // output is flushed once, at the end of the current batch
    uint64_t next_seq_ = 0;       // number of the next exchange
    uint64_t next_send_ = 0;      // number of the exchange whose response leaves next
    std::deque<uint32_t> in_flight_sizes_;   // frame sizes of exchanges next_send_ .. next_seq_ - 1
    size_t in_flight_bytes_ = 0;             // their sum
    uint64_t close_at_ = UINT64_MAX;
    std::map<uint64_t, std::optional<Writer>> parked_;   // answered early, waiting for their turn

    std::unique_ptr<uint8_t[]> staging_;
    size_t staged_begin_ = 0;
    size_t staged_end_ = 0;
    std::shared_ptr<uint8_t[]> frame_;   // a large frame being read into its own buffer
    size_t frame_size_ = 0;
    size_t frame_have_ = 0;

    // Any thread, under inbox_mutex_.
    std::mutex inbox_mutex_;
    std::vector<InboxItem> inbox_;
    bool inbox_posted_ = false;
};

} // namespace kafka::net
