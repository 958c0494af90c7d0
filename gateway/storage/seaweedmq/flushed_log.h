// A partition's messages as the MQ broker flushed them to the filer, read without the broker.
//
// Why: a SeaweedMQ 4.48 broker that reloads a partition (after a restart) can number its in-memory
// buffer from a stale offset, and FetchMessage / SubscribeMessage then serve records written after the
// reload under the offsets of older ones (top of seaweedmq_engine.cc).  The flushed files are right:
// every message in them carries the offset the broker acknowledged.  The engine reads a partition here
// once it has seen its broker misreport the high watermark, and reads offsets the broker no longer
// holds in memory here always (far faster than FetchMessage reading the same files back).
//
// Layout (SeaweedFS's): /topics/<namespace>/<topic>/v<version time>/<range start>-<range stop>/ holds
// the log files, named by flush time (UTC "2006-01-02-15-04-05", so name order is time order), each a
// sequence of a 4-byte big-endian length and a filer_pb.LogEntry (ts_ns, key, data = value, offset).
// Files whose offset_max attribute (8-byte big-endian) is below the wanted offset are skipped without
// reading (offset_min is not used: weed 4.48 writes a wrong one into a partition's first file, and no
// offset_max there, so that file's highest offset is read from the file once).  File
// contents come from the filer's HTTP interface (ranged GETs of the file's path), which puts together
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

// One entry of a flushed log file from byte `at` of `data`: `entry` moves `at` past it into `out`;
// `need_more` when data ends inside it (`at` unchanged); `error` when it cannot be an entry.
enum class LogEntryStep { entry, need_more, error };
LogEntryStep next_log_entry(std::string_view data, size_t& at, FlushedMessage& out, std::string& error);

// The directory names SeaweedFS gives a topic version (from the partition's unix_time_ns) and a
// partition range.
std::string version_dir_name(int64_t unix_time_ns);
std::string range_dir_name(int32_t range_start, int32_t range_stop);

// Bytes [begin, begin + length) of a file; length 0: the whole file.
struct ByteRange {
    uint64_t begin = 0;
    uint64_t length = 0;
};

// GET http://host_port/path (HTTP/1.0, so the body ends with the connection), of `range` when it is
// not empty.  True with the body on status 200 (cut to `range` should the server ignore it) or 206;
// false with `error` otherwise (connection, timeout, status).
bool http_get(const std::string& host_port, const std::string& path, std::chrono::milliseconds timeout,
              std::string& body, std::string& error, ByteRange range = {});

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
    // max_bytes of keys and values.  Fewer, or none, when the broker has not flushed them yet.  When
    // the files skip offsets (ones the broker lost), the messages start at the first offset after the
    // gap.  False, with `error`, when the filer cannot be listed or a file read.
    bool read(const Partition& p, int64_t offset, int64_t max_bytes, int64_t max_messages,
              std::vector<FlushedMessage>& out, std::string& error);

    // One past the highest offset the flushed files hold (by their offset_max attributes; 0: none
    // flushed).  False, with `error`, when the filer cannot be listed.
    bool flushed_end(const Partition& p, int64_t& end, std::string& error);

private:
    // Where entries of a file start: offset of the entry → its byte position, noted while reading so
    // that a consumer reading on from where it stopped is served by a ranged GET from there, not by
    // reading the file from its start again (files hold -logFlushInterval seconds of a partition: tens
    // to hundreds of MB under load).  The entries of a file are in offset order.
    struct Checkpoints {
        uint64_t size = 0;       // the file's size when noted; a file that shrank is forgotten
        uint64_t last_used = 0;
        std::map<int64_t, uint64_t> at;
    };
    struct Listed {
        std::string name;
        uint64_t size = 0;
        int64_t max = -1;   // the offset_max attribute; -1: not recorded
    };
    static int64_t end_of(const std::vector<Listed>& files);   // one past the highest offset_max; 0: none
    std::string partition_dir(const Partition& p, std::string& error);
    // The partition's log files in name (= flush time) order; empty `dir`: nothing flushed yet.  With
    // `offset` >= 0 a listing younger than max_listing_age whose files reach past `offset` is reused.
    // Otherwise only files from the last one listed on are listed again (a partition gains a file per
    // flush: tens of thousands a day), and the whole directory every whole_listing_interval (files
    // removed by retention).
    bool list(const Partition& p, std::string& dir, std::vector<Listed>& files, std::string& error,
              int64_t offset = -1);
    // The highest offset in a file that has no offset_max attribute, read from the file (remembered
    // by path and size).
    bool scan_max(const std::string& path, uint64_t size, int64_t& max, std::string& error);
    uint64_t start_position(const std::string& path, uint64_t size, int64_t offset);
    // Bytes of a file, viewed where a GET put them (a read-ahead GET is kept for later reads: no copy).
    struct Chunk {
        std::shared_ptr<const std::string> held;
        std::string_view bytes;
    };
    // Bytes [position, position + want) of the file (fewer at its end) into `chunk`: from the read-ahead
    // cache when a previous read fetched them, else by one ranged GET of at least read_ahead bytes, which the
    // cache keeps for the reads after it.  A filer GET costs ~7 ms whatever its size (measured: 1 MiB in 8.6 ms,
    // 4 MiB in 12.2 ms), so a consumer fetching 1 MiB at a time is served by one GET in four.
    bool read_range(const std::string& http, const std::string& path, uint64_t size, uint64_t position, uint64_t want,
                    Chunk& chunk, std::string& error);
    void note_position(const std::string& path, uint64_t size, int64_t offset, uint64_t position);

    Cluster& cluster_;
    std::mutex mutex_;
    uint64_t uses_ = 0;
    std::map<std::string, Checkpoints> checkpoints_;   // by path, the least recently used dropped first
    std::map<std::string, std::string> dirs_;          // partition (ns/topic/version/range) → its directory
    std::map<std::string, std::pair<uint64_t, int64_t>> scanned_;   // scan_max: path → (size, highest offset)
    struct ReadAhead {
        std::string path;
        uint64_t size = 0;    // the file's size when read
        uint64_t start = 0;   // where the bytes start in the file
        std::shared_ptr<const std::string> bytes;
        uint64_t last_used = 0;
    };
    std::vector<ReadAhead> read_ahead_;   // a few recent GETs, the least recently used replaced first
    struct Listing {
        std::chrono::steady_clock::time_point at;
        std::chrono::steady_clock::time_point whole_at;   // when the directory was last listed whole
        int64_t end = 0;   // one past the highest offset_max
        std::vector<Listed> files;
    };
    std::map<std::string, Listing> listings_;          // by directory
};

} // namespace gateway::seaweedmq
