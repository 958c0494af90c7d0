// A partition's messages as the MQ broker flushed them to the filer, read without the broker.
//
// Why: a SeaweedMQ 4.48 broker that reloads a partition (after a restart) can number its in-memory
// buffer from a stale offset, and FetchMessage / SubscribeMessage then serve records written after the
// reload under the offsets of older ones (top of seaweedmq_engine.cc).  The flushed files are right:
// every message in them carries the offset the broker acknowledged.  The engine reads a partition here
// once it has seen its broker misreport the high watermark.
//
// Layout (SeaweedFS's): /topics/<namespace>/<topic>/v<version time>/<range start>-<range stop>/ holds
// the log files, named by flush time (UTC "2006-01-02-15-04-05", so name order is time order), each a
// sequence of a 4-byte big-endian length and a filer_pb.LogEntry (ts_ns, key, data = value, offset).
// Files the broker wrote with offset_min/offset_max attributes (8-byte big-endian) are skipped without
// reading when they cannot hold the wanted offsets; the others are read and their offset range kept.
// File contents come from the filer's HTTP interface (GET of the file's path), which puts together
// the file's chunks from the volume servers.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gateway::seaweedmq {

class Cluster;

struct FlushedMessage {
    int64_t offset = 0;
    int64_t ts_ns = 0;
    std::string key;
    std::string value;
};

// Parses a flushed log file.  False, with `error` saying where, when it is not whole entries.
bool parse_log_file(std::string_view data, std::vector<FlushedMessage>& out, std::string& error);

// The directory names SeaweedFS gives a topic version (from the partition's unix_time_ns) and a
// partition range.
std::string version_dir_name(int64_t unix_time_ns);
std::string range_dir_name(int32_t range_start, int32_t range_stop);

// GET http://host_port/path (HTTP/1.0, so the body ends with the connection).  True with the body on
// status 200; false with `error` otherwise (connection, timeout, status).
bool http_get(const std::string& host_port, const std::string& path, std::chrono::milliseconds timeout,
              std::string& body, std::string& error);

class FlushedLogReader {
public:
    explicit FlushedLogReader(Cluster& cluster) : cluster_(cluster) {}

    struct Partition {
        std::string ns;
        std::string topic;
        int64_t unix_time_ns = 0;   // the SeaweedMQ partition's version
        int32_t range_start = 0;
        int32_t range_stop = 0;
    };
    // Messages from `offset` on, in offset order, up to max_messages and (at least one message) about
    // max_bytes of keys and values.  Fewer, or none, when the broker has not flushed them yet.  False,
    // with `error`, when the filer cannot be listed or a file read.
    bool read(const Partition& p, int64_t offset, int64_t max_bytes, int64_t max_messages,
              std::vector<FlushedMessage>& out, std::string& error);

private:
    struct File {
        uint64_t size = 0;
        std::shared_ptr<const std::vector<FlushedMessage>> messages;
    };
    std::string partition_dir(const Partition& p, std::string& error);

    Cluster& cluster_;
    std::mutex mutex_;
    std::map<std::string, File> files_;   // parsed files by path; dropped when a file's size changes
};

} // namespace gateway::seaweedmq
