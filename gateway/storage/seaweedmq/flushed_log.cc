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
constexpr size_t max_log_entry_size = size_t{64} << 20;   // far above SeaweedMQ's own message limit
constexpr size_t max_response_size = max_log_entry_size + (size_t{16} << 20);
constexpr uint64_t min_chunk = 256 << 10, max_chunk = 8 << 20;   // bytes read from a file at a time
constexpr size_t max_cursor_files = 1024;
constexpr uint64_t read_ahead = 4 << 20;         // the least a read of a file's records GETs
constexpr size_t read_ahead_slots = 8;           // at most 32 MiB of read-ahead held
// A partition's listing is reused this long by reads of offsets it holds (files are only ever added;
// offsets past it list again).
constexpr auto max_listing_age = std::chrono::seconds(1);
// A partition's directory is listed whole this often; in between only its newest files (list()).
constexpr auto whole_listing_interval = std::chrono::seconds(60);
constexpr size_t max_checkpoints_per_file = 4096;

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

// One step through `chunk`, the bytes of a log file from some position on, `left` bytes of the file
// from that position: `entry` (in `m`, `at` moved past it); `end` when the chunk holds no more whole
// entries; `grown` when its first entry is larger than the chunk but fits in the file (`want`, the
// bytes to read at a time, is raised to hold it); `error`.
enum class ChunkStep { entry, end, grown, error };
ChunkStep next_in_chunk(std::string_view chunk, size_t& at, FlushedMessage& m, uint64_t left, uint64_t& want,
                        std::string& error) {
    const size_t entry_at = at;
    switch (next_log_entry(chunk, at, m, error)) {
    case LogEntryStep::entry: return ChunkStep::entry;
    case LogEntryStep::error: return ChunkStep::error;
    case LogEntryStep::need_more: break;
    }
    if (entry_at != 0 || chunk.size() < 4) return ChunkStep::end;
    const uint64_t need = 4 + uint64_t{load_be32(reinterpret_cast<const uint8_t*>(chunk.data()))};
    if (need <= want || need > left) return ChunkStep::end;   // larger than the file: not all flushed
    want = need;
    return ChunkStep::grown;
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

LogEntryStep next_log_entry(std::string_view data, size_t& at, FlushedMessage& out, std::string& error) {
    if (data.size() - at < 4) return LogEntryStep::need_more;
    const uint32_t size = load_be32(reinterpret_cast<const uint8_t*>(data.data()) + at);
    if (size > max_log_entry_size) {
        error = "an entry of " + std::to_string(size) + " bytes at byte " + std::to_string(at);
        return LogEntryStep::error;
    }
    if (size > data.size() - at - 4) return LogEntryStep::need_more;
    filer_pb::LogEntry entry;
    if (!entry.ParseFromArray(data.data() + at + 4, static_cast<int>(size))) {
        error = "an unreadable entry at byte " + std::to_string(at);
        return LogEntryStep::error;
    }
    at += 4 + size;
    out = {entry.offset(), entry.ts_ns(), std::move(*entry.mutable_key()), std::move(*entry.mutable_data())};
    return LogEntryStep::entry;
}

bool parse_log_file(std::string_view data, std::vector<FlushedMessage>& out, std::string& error) {
    size_t at = 0;
    FlushedMessage m;
    while (at < data.size()) {
        switch (next_log_entry(data, at, m, error)) {
        case LogEntryStep::entry: out.push_back(std::move(m)); break;
        case LogEntryStep::need_more:
            error = data.size() - at < 4 ? "a length cut short at byte " + std::to_string(at)
                                         : "an entry cut short at byte " + std::to_string(at);
            return false;
        case LogEntryStep::error: return false;
        }
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
              std::string& body, std::string& error, ByteRange range) {
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
    std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + host_port + "\r\n";
    if (range.length > 0)
        request += "Range: bytes=" + std::to_string(range.begin) + "-" + std::to_string(range.begin + range.length - 1) + "\r\n";
    request += "\r\n";
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
    // Received straight into `body` (reserved for the range asked), then the header cut off: a ranged
    // read of a megabyte is not copied around.
    std::string& response = body;
    response.clear();
    if (range.length > 0) response.reserve(range.length + 1024);
    constexpr size_t step = 64 * 1024;
    for (;;) {
        if (!wait_ready(s.get(), POLLIN, deadline)) {
            error = "timed out reading " + path + " from " + host_port;
            return false;
        }
        const size_t had = response.size();
        if (response.capacity() - had < step) response.reserve(std::max(response.capacity() * 2, had + step));
        response.resize(had + step);
        const ssize_t n = ::recv(s.get(), response.data() + had, response.size() - had, 0);
        response.resize(had + static_cast<size_t>(std::max<ssize_t>(n, 0)));
        if (n == 0) break;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            error = "read from " + host_port + ": " + std::strerror(errno);
            return false;
        }
        if (response.size() > max_response_size && (range.length == 0 || range.length < max_response_size)) {
            error = path + " is larger than " + std::to_string(max_response_size) + " bytes";
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
    const bool whole = space != std::string::npos && status.compare(space + 1, 3, "200") == 0;
    const bool partial = space != std::string::npos && range.length > 0 && status.compare(space + 1, 3, "206") == 0;
    if (!whole && !partial) {
        error = "GET " + path + " from " + host_port + ": " + status;
        return false;
    }
    response.erase(0, header_end + 4);
    if (whole && range.length > 0) {   // a server that ignores Range sends the whole file
        if (range.begin >= response.size()) {
            response.clear();
        } else {
            response.erase(0, range.begin);
            if (response.size() > range.length) response.resize(range.length);
        }
    }
    return true;
}

std::string FlushedLogReader::partition_dir(const Partition& p, std::string& error) {
    const std::string topic_dir = "/topics/" + p.ns + "/" + p.topic;
    const std::string wanted = version_dir_name(p.unix_time_ns);
    const std::string key = topic_dir + "/" + wanted + "/" + range_dir_name(p.range_start, p.range_stop);
    {
        std::lock_guard lock(mutex_);
        if (auto it = dirs_.find(key); it != dirs_.end()) return it->second;
    }
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
    const std::string dir = topic_dir + "/" + version + "/" + range_dir_name(p.range_start, p.range_stop);
    if (version == wanted) {   // final: the newest may still be followed by the wanted one
        std::lock_guard lock(mutex_);
        if (dirs_.size() >= max_cursor_files) dirs_.clear();
        dirs_[key] = dir;
    }
    return dir;
}

uint64_t FlushedLogReader::start_position(const std::string& path, uint64_t size, int64_t offset) {
    std::lock_guard lock(mutex_);
    auto it = checkpoints_.find(path);
    if (it == checkpoints_.end()) return 0;
    if (it->second.size > size) {
        checkpoints_.erase(it);
        return 0;
    }
    it->second.last_used = ++uses_;
    auto at = it->second.at.upper_bound(offset);   // the last entry at or before `offset`
    return at == it->second.at.begin() ? 0 : std::prev(at)->second;
}

void FlushedLogReader::note_position(const std::string& path, uint64_t size, int64_t offset, uint64_t position) {
    std::lock_guard lock(mutex_);
    if (checkpoints_.size() >= max_cursor_files && !checkpoints_.contains(path)) {
        auto oldest = std::min_element(checkpoints_.begin(), checkpoints_.end(), [](const auto& a, const auto& b) {
            return a.second.last_used < b.second.last_used;
        });
        checkpoints_.erase(oldest);
    }
    Checkpoints& c = checkpoints_[path];
    if (c.size != size) {
        if (c.size > size) c.at.clear();
        c.size = size;
    }
    c.last_used = ++uses_;
    if (c.at.size() < max_checkpoints_per_file) c.at.emplace(offset, position);
}

bool FlushedLogReader::list(const Partition& p, std::string& dir, std::vector<Listed>& files, std::string& error,
                            int64_t offset) {
    dir = partition_dir(p, error);
    if (!error.empty()) return false;
    if (dir.empty()) return true;
    const auto now = std::chrono::steady_clock::now();
    std::string start_from;   // "": the whole directory
    auto whole_at = now;
    {
        std::lock_guard lock(mutex_);
        auto it = listings_.find(dir);
        if (it != listings_.end()) {
            if (offset >= 0 && now - it->second.at < max_listing_age && offset < it->second.end) {
                files = it->second.files;   // a listing of the last second that holds `offset` will do
                return true;
            }
            if (!it->second.files.empty() && now - it->second.whole_at < whole_listing_interval) {
                // From the last file on, that one included: a flush in the same second appends to it.
                files = it->second.files;
                start_from = files.back().name;
                files.pop_back();
                whole_at = it->second.whole_at;
            }
        }
    }
    const size_t known = files.size();
    FilerClient filer(cluster_);
    if (!filer.list(dir, "", [&](const filer_pb::Entry& e) {
            // offset_min is not trusted: weed 4.48 writes a wrong one into a partition's first file.
            if (is_log_file_name(e.name())) files.push_back({e.name(), e.attributes().file_size(), offset_attribute(e, "offset_max")});
        }, false, start_from)) {
        error = "cannot list " + dir;
        return false;
    }
    // weed 4.48 writes no offset_max on a partition's first file: its last offset is read from it.
    for (size_t i = known; i < files.size(); ++i)
        if (files[i].max < 0 && files[i].size > 0 && !scan_max(dir + "/" + files[i].name, files[i].size, files[i].max, error))
            return false;
    std::lock_guard lock(mutex_);
    if (listings_.size() >= max_cursor_files && !listings_.contains(dir)) listings_.clear();
    listings_[dir] = {now, whole_at, end_of(files), files};
    return true;
}

bool FlushedLogReader::scan_max(const std::string& path, uint64_t size, int64_t& max, std::string& error) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = scanned_.find(path); it != scanned_.end() && it->second.first == size) {
            max = it->second.second;
            return true;
        }
    }
    const std::string http = cluster_.filer_http();
    if (http.empty()) {
        error = "no filer known";
        return false;
    }
    max = -1;
    std::string chunk;
    FlushedMessage m;
    uint64_t position = 0, want = max_chunk;
    while (position < size) {
        if (!http_get(http, path, file_read_timeout, chunk, error, {position, std::min(want, size - position)})) return false;
        size_t at = 0;
        bool grown = false;
        for (;;) {
            const ChunkStep step = next_in_chunk(chunk, at, m, size - position, want, error);
            if (step == ChunkStep::error) {
                error = path + ": " + error + " (from byte " + std::to_string(position) + ")";
                return false;
            }
            grown = step == ChunkStep::grown;
            if (step != ChunkStep::entry) break;
            max = std::max(max, m.offset);
        }
        if (at == 0 && !grown) break;   // no whole entry left (a file cut since listed)
        position += at;
    }
    std::lock_guard lock(mutex_);
    if (scanned_.size() >= max_cursor_files) scanned_.clear();
    scanned_[path] = {size, max};
    return true;
}

bool FlushedLogReader::read_range(const std::string& http, const std::string& path, uint64_t size, uint64_t position,
                                  uint64_t want, Chunk& chunk, std::string& error) {
    const uint64_t end = position + std::min(want, size - position);
    {
        std::lock_guard lock(mutex_);
        for (ReadAhead& r : read_ahead_) {
            if (r.path != path || r.size != size || position < r.start || end > r.start + r.bytes->size()) continue;
            r.last_used = ++uses_;
            chunk.held = r.bytes;
            chunk.bytes = std::string_view(*r.bytes).substr(position - r.start, end - position);
            return true;
        }
    }
    auto bytes = std::make_shared<std::string>();
    const uint64_t fetch = std::min(std::max(want, read_ahead), size - position);
    if (!http_get(http, path, file_read_timeout, *bytes, error, {position, fetch})) return false;
    chunk.held = bytes;
    chunk.bytes = std::string_view(*bytes).substr(0, std::min<uint64_t>(end - position, bytes->size()));
    if (bytes->size() < fetch) return true;   // the file was cut since listed: nothing to keep
    std::lock_guard lock(mutex_);
    ReadAhead* slot = nullptr;
    if (read_ahead_.size() < read_ahead_slots) {
        slot = &read_ahead_.emplace_back();
    } else {
        slot = &*std::min_element(read_ahead_.begin(), read_ahead_.end(),
                                  [](const ReadAhead& a, const ReadAhead& b) { return a.last_used < b.last_used; });
    }
    *slot = {path, size, position, std::move(bytes), ++uses_};
    return true;
}

int64_t FlushedLogReader::end_of(const std::vector<Listed>& files) {
    int64_t end = 0;
    for (const Listed& f : files) end = std::max(end, f.max + 1);
    return end;
}

bool FlushedLogReader::flushed_end(const Partition& p, int64_t& end, std::string& error) {
    std::string dir;
    std::vector<Listed> files;
    if (!list(p, dir, files, error)) return false;
    end = end_of(files);
    return true;
}

bool FlushedLogReader::read(const Partition& p, int64_t offset, int64_t max_bytes, int64_t max_messages,
                            std::vector<FlushedMessage>& out, std::string& error) {
    std::string dir;
    std::vector<Listed> files;
    if (!list(p, dir, files, error, offset)) return false;
    if (dir.empty()) return true;
    const std::string http = cluster_.filer_http();
    if (http.empty()) {
        error = "no filer known";
        return false;
    }
    int64_t next = offset;   // the offset wanted next
    int64_t bytes = 0;
    Chunk chunk;
    FlushedMessage m;
    for (const Listed& f : files) {
        if (f.max >= 0 && f.max < next) continue;   // entirely before the offsets wanted
        const std::string path = dir + "/" + f.name;
        uint64_t position = start_position(path, f.size, next);
        uint64_t want = std::clamp<uint64_t>(static_cast<uint64_t>(std::max<int64_t>(max_bytes - bytes, 0)) + (64 << 10),
                                             min_chunk, max_chunk);
        while (position < f.size) {
            if (!read_range(http, path, f.size, position, want, chunk, error)) return false;
            if (chunk.bytes.empty()) break;   // cut since listed
            size_t at = 0;
            bool first = true, grown = false;
            for (;;) {
                const size_t entry_at = at;
                const ChunkStep step = next_in_chunk(chunk.bytes, at, m, f.size - position, want, error);
                if (step == ChunkStep::error) {
                    error = path + ": " + error + " (from byte " + std::to_string(position) + ")";
                    return false;
                }
                grown = step == ChunkStep::grown;
                if (step != ChunkStep::entry) break;
                if (first) note_position(path, f.size, m.offset, position + entry_at);
                first = false;
                if (m.offset < next) continue;
                if (m.offset != next) {
                    if (!out.empty()) return true;   // the next read starts there
                    // Offsets no file holds, followed by later ones: never to be flushed (a broker that
                    // lost them, top of seaweedmq_engine.cc).  The read goes on from the next offset held,
                    // as a consumer of a compacted Kafka topic moves past missing offsets.
                    next = m.offset;
                }
                if (static_cast<int64_t>(out.size()) >= max_messages || (!out.empty() && bytes >= max_bytes)) {
                    note_position(path, f.size, m.offset, position + entry_at);   // where the next read starts
                    return true;
                }
                bytes += static_cast<int64_t>(m.key.size() + m.value.size());
                out.push_back(std::move(m));
                ++next;
            }
            if (at == 0 && !grown) return true;   // no whole entry left: the rest is not flushed whole
            position += at;
        }
    }
    return true;
}

} // namespace gateway::seaweedmq
