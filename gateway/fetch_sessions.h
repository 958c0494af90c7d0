// Incremental fetch sessions (KIP-227, Fetch v7+).  A consumer that fetches many partitions sends
// them all once (session_id 0, epoch 0); the broker keeps them in a session and answers with its id.
// Later requests (that id, epoch 1, 2, ...) name only the partitions whose fetch position or limits
// changed, plus partitions to forget, and the response carries only partitions with something new:
// records, an error, or a moved high watermark or log start offset.  Requests and responses stay
// small however many partitions a consumer reads.
//
// The handler turns every request into a full one before reading: begin() applies the request to
// the session and, for incremental requests, replaces request.topics with every partition the
// session holds; finish() then removes what the client already knows from the response.
//
//   session_id  epoch   meaning
//   0           -1      full fetch, no session
//   0           0       full fetch, create a session (id 0 in the answer when the cache is full)
//   N           -1      close session N; full fetch without a session
//   N           0       close session N; full fetch creating a new session
//   N           k > 0   incremental fetch in session N; k must be the epoch the session expects
//
// Errors (top level, no partitions): FETCH_SESSION_ID_NOT_FOUND for an unknown or evicted session,
// INVALID_FETCH_SESSION_EPOCH for an epoch out of step; clients answer both with a full fetch.
//
// Sessions are kept in an LRU cache of max.incremental.fetch.session.cache.slots entries; a session
// idle for longer than the idle limit is dropped when a new one is made.  Thread-safe.
#pragma once

#include "gateway/error_codes.h"
#include "generated/fetch_request.h"
#include "generated/fetch_response.h"

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace gateway {

class FetchSessions {
public:
    using Clock = std::chrono::steady_clock;

    explicit FetchSessions(size_t max_sessions = 1000,
                           Clock::duration idle_limit = std::chrono::minutes(2));
    ~FetchSessions();

    struct Session;
    // What begin() decided for one request.
    struct Context {
        ErrorCode error = ErrorCode::none;   // top-level error: answer it with no partitions
        int32_t session_id = 0;              // the session id to answer with
        bool incremental = false;            // finish() filters the response
        std::shared_ptr<Session> session;    // null: no session (sessionless, or the cache is full)
        // The client forgot partitions of the session within the last second without adding them
        // back: a consumer does that while it still holds records of them, and it cannot fetch them
        // again while this request is unanswered.  The handler then cuts a long poll short
        // (handlers/fetch.cc).
        bool partitions_set_aside = false;
    };

    // Applies `request` (decoded at `version`) to the cache; for incremental requests rewrites
    // request.topics to every partition of the session, with the fetch positions it holds.
    Context begin(kafka::FetchRequest& request, int16_t version, Clock::time_point now = Clock::now());
    // Records what `response` tells the client about each partition and, for incremental fetches,
    // drops the partitions (and topics) with nothing new and moves those that returned records to the
    // end of the session's order (as Kafka does).  Sets response.session_id.
    void finish(const Context& context, kafka::FetchResponse& response) const;

    size_t size() const;

private:
    std::shared_ptr<Session> create(const kafka::FetchRequest& request, int16_t version, Clock::time_point now);
    void erase(int32_t id);

    const size_t max_sessions_;
    const Clock::duration idle_limit_;
    mutable std::mutex mutex_;
    std::list<int32_t> lru_;   // least recently used first
    struct Slot {
        std::shared_ptr<Session> session;
        std::list<int32_t>::iterator lru;
    };
    std::unordered_map<int32_t, Slot> sessions_;
    std::mt19937 random_;
};

} // namespace gateway
