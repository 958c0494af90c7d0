#include "gateway/storage/seaweedmq/flushed_log.h"

#include "filer.pb.h"
#include "gateway/storage/seaweedmq/cluster.h"
#include "gateway/storage/seaweedmq/filer_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace gateway::seaweedmq {
namespace {

constexpr auto file_read_timeout = std::chrono::seconds(30);
constexpr size_t max_log_file_size = size_t{1} << 30;   // SeaweedFS flushes far smaller files
constexpr size_t max_cached_files = 256;

uint32_t load_be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// An 8-byte big-endian offset attribute; -1 when absent or malformed.
int64_t offset_attribute(const filer_pb::Entry& e, const char* name) {
    auto it = e.extended().find(name);
    if (it == e.extended().end() || it->second.size() != 8) return -1;
    uint64_t v = 0;
    for (unsigned char c : it->second) v = (v << 8) | c;
    return static_cast<int64_t>(v);
}

// A flushed log file's name: "2006-01-02-15-04-05" (digits and dashes, 19 characters).
bool is_log_file_name(std::string_view name) {
    if (name.size() != 19) return false;
    for (size_t i = 0; i < name.size(); ++i) {
        const bool dash = i == 4 || i == 7 || i == 10 || i == 13 || i == 16;
        if (dash ? name[i] != '-' : (name[i] < '0' || name[i] > '9')) return false;
    }
    return true;
}

class Socket {
public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

// Waits until fd is ready for `events` or the deadline passes.
bool wait_ready(int fd, short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

} // namespace

bool parse_log_file(std::string_view data, std::vector<FlushedMessage>& out, std::string& error) {
    const auto* p = reinterpret_cast<const uint8_t*>(data.data());
    size_t at = 0;
    filer_pb::LogEntry entry;
    while (at < data.size()) {
        if (data.size() - at < 4) {
            error = "a length cut short at byte " + std::to_string(at);
            return false;
        }
        const uint32_t size = load_be32(p + at);
        at += 4;
        if (size > data.size() - at) {
            error = "an entry of " + std::to_string(size) + " bytes at byte " + std::to_string(at - 4) + " with " +
                    std::to_string(data.size() - at) + " left";
            return false;
        }
        if (!entry.ParseFromArray(p + at, static_cast<int>(size))) {
            error = "an unreadable entry at byte " + std::to_string(at - 4);
            return false;
        }
        at += size;
        out.push_back({entry.offset(), entry.ts_ns(), std::move(*entry.mutable_key()), std::move(*entry.mutable_data())});
        entry.Clear();
    }
    return true;
}

std::string version_dir_name(int64_t unix_time_ns) {
    const std::time_t seconds = static_cast<std::time_t>(unix_time_ns / 1000000000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buf[32];
    std::strftime(buf, sizeof buf, "v%Y-%m-%d-%H-%M-%S", &utc);
    return buf;
}

std::string range_dir_name(int32_t range_start, int32_t range_stop) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%04d", range_start, range_stop);
    return buf;
}

bool http_get(const std::string& host_port, const std::string& path, std::chrono::milliseconds timeout,
              std::string& body, std::string& error) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const size_t colon = host_port.rfind(':');
    if (colon == std::string::npos) {
        error = "'" + host_port + "' is not host:port";
        return false;
    }
    const std::string host = host_port.substr(0, colon), port = host_port.substr(colon + 1);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        error = "cannot resolve " + host_port + ": " + gai_strerror(rc);
        return false;
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, ::freeaddrinfo);
    Socket s(::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.get() < 0 || (::connect(s.get(), found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS)) {
        error = "cannot connect to " + host_port + ": " + std::strerror(errno);
        return false;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (!wait_ready(s.get(), POLLOUT, deadline) || ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 ||
        so_error != 0) {
        error = "cannot connect to " + host_port + (so_error ? std::string(": ") + std::strerror(so_error) : "");
        return false;
    }
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + host_port + "\r\n\r\n";
    for (size_t sent = 0; sent < request.size();) {
        if (!wait_ready(s.get(), POLLOUT, deadline)) {
            error = "timed out sending to " + host_port;
            return false;
        }
        const ssize_t n = ::send(s.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            error = "send to " + host_port + ": " + std::strerror(errno);
            return false;
        }
        if (n > 0) sent += static_cast<size_t>(n);
    }
    std::string response;
    char buf[64 * 1024];
    for (;;) {
        if (!wait_ready(s.get(), POLLIN, deadline)) {
            error = "timed out reading " + path + " from " + host_port;
            return false;
        }
        const ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            error = "read from " + host_port + ": " + std::strerror(errno);
            return false;
        }
        response.append(buf, static_cast<size_t>(n));
        if (response.size() > max_log_file_size) {
            error = path + " is larger than " + std::to_string(max_log_file_size) + " bytes";
            return false;
        }
    }
    const size_t header_end = response.find("\r\n\r\n");
    const size_t line_end = response.find("\r\n");
    if (header_end == std::string::npos || response.compare(0, 5, "HTTP/") != 0) {
        error = "no HTTP response from " + host_port;
        return false;
    }
    const std::string status = response.substr(0, line_end);
    const size_t space = status.find(' ');
    if (space == std::string::npos || status.compare(space + 1, 3, "200") != 0) {
        error = "GET " + path + " from " + host_port + ": " + status;
        return false;
    }
    body = response.substr(header_end + 4);
    return true;
}

std::string FlushedLogReader::partition_dir(const Partition& p, std::string& error) {
    const std::string topic_dir = "/topics/" + p.ns + "/" + p.topic;
    const std::string wanted = version_dir_name(p.unix_time_ns);
    std::string version;   // the wanted one, else the newest
    FilerClient filer(cluster_);
    const bool listed = filer.list(
        topic_dir, "v",
        [&](const filer_pb::Entry& e) {
            if (!e.is_directory() || version == wanted) return;
            if (e.name() == wanted || e.name() > version) version = e.name();
        },
        true);
    if (!listed) {
        error = "cannot list " + topic_dir;
        return {};
    }
    if (version.empty()) return {};   // nothing flushed yet
    return topic_dir + "/" + version + "/" + range_dir_name(p.range_start, p.range_stop);
}

bool FlushedLogReader::read(const Partition& p, int64_t offset, int64_t max_bytes, int64_t max_messages,
                            std::vector<FlushedMessage>& out, std::string& error) {
    const std::string dir = partition_dir(p, error);
    if (!error.empty()) return false;
    if (dir.empty()) return true;
    struct Listed {
        std::string name;
        uint64_t size;
        int64_t min, max;   // -1: not recorded
    };
    std::vector<Listed> files;
    FilerClient filer(cluster_);
    if (!filer.list(dir, "", [&](const filer_pb::Entry& e) {
            if (is_log_file_name(e.name()))
                files.push_back({e.name(), e.attributes().file_size(), offset_attribute(e, "offset_min"),
                                 offset_attribute(e, "offset_max")});
        })) {
        error = "cannot list " + dir;
        return false;
    }
    const std::string http = cluster_.filer_http();
    if (http.empty()) {
        error = "no filer known";
        return false;
    }
    int64_t bytes = 0;
    for (const Listed& f : files) {
        if (f.max >= 0 && f.max < offset) continue;   // entirely before the offsets wanted
        const std::string path = dir + "/" + f.name;
        std::shared_ptr<const std::vector<FlushedMessage>> messages;
        {
            std::lock_guard lock(mutex_);
            if (auto it = files_.find(path); it != files_.end() && it->second.size == f.size) messages = it->second.messages;
        }
        if (!messages) {
            std::string body;
            if (!http_get(http, path, file_read_timeout, body, error)) return false;
            auto parsed = std::make_shared<std::vector<FlushedMessage>>();
            if (!parse_log_file(body, *parsed, error)) {
                error = path + ": " + error;
                return false;
            }
            messages = parsed;
            std::lock_guard lock(mutex_);
            if (files_.size() >= max_cached_files) files_.clear();
            files_[path] = {f.size, messages};
        }
        for (const FlushedMessage& m : *messages) {
            if (m.offset < offset || (!out.empty() && m.offset <= out.back().offset)) continue;
            if (!out.empty() && m.offset != out.back().offset + 1) return true;   // a gap: not flushed yet
            if (out.empty() && m.offset != offset) return true;
            if (static_cast<int64_t>(out.size()) >= max_messages || (!out.empty() && bytes >= max_bytes)) return true;
            bytes += static_cast<int64_t>(m.key.size() + m.value.size());
            out.push_back(m);
        }
    }
    return true;
}

} // namespace gateway::seaweedmq
