#include "gateway/fetch_sessions.h"

#include <algorithm>
#include <tuple>

namespace gateway {

namespace {

constexpr int32_t first_version = 7;   // sessions exist from Fetch v7
constexpr int32_t by_topic_id = 13;    // from v13 topics are named by id
// How long a forgotten partition counts as set aside (Context::partitions_set_aside): a consumer that
// paused it does not add it back, and its fetches then wait as usual after this.
constexpr auto set_aside_limit = std::chrono::seconds(1);

// Partitions are keyed by topic name before v13 and by topic id from v13 (the name is empty then).
std::string topic_key(bool ids, const std::string& name, const kafka::Uuid& id) {
    return ids ? std::string(id.bytes.begin(), id.bytes.end()) : name;
}

} // namespace

struct FetchSessions::Session {
    struct Partition {
        std::string topic;
        kafka::Uuid topic_id;
        kafka::FetchRequest::FetchPartition request;   // the position and limits the client last sent
        // What the client was last told; a partition whose answer repeats them is left out.
        int64_t high_watermark = -1;
        int64_t last_stable_offset = -1;
        int64_t log_start_offset = -1;
    };
    using Key = std::pair<std::string, int32_t>;

    std::mutex mutex;
    int32_t id = 0;
    bool ids = false;           // created at v13+: topics by id
    int32_t next_epoch = 1;
    Clock::time_point last_used;
    std::vector<Partition> partitions;   // in the order the client added them, those that returned records last
    std::map<Key, size_t> index;         // into partitions

    // Partitions the client forgot, and when: a consumer forgets a partition while it still holds
    // records of it, and adds it again once it has used them (set_aside_limit).
    std::map<Key, Clock::time_point> set_aside;

    void upsert(const kafka::FetchRequest::FetchTopic& t, const kafka::FetchRequest::FetchPartition& p) {
        Key key{topic_key(ids, t.topic, t.topic_id), p.partition};
        set_aside.erase(key);
        auto it = index.find(key);
        if (it != index.end()) {
            partitions[it->second].request = p;
            return;
        }
        index.emplace(std::move(key), partitions.size());
        partitions.push_back({t.topic, t.topic_id, p});
    }

    void forget(const kafka::FetchRequest::ForgottenTopic& t, Clock::time_point now) {
        const std::string key = topic_key(ids, t.topic, t.topic_id);
        bool removed = false;
        for (int32_t p : t.partitions)
            if (index.erase({key, p}) > 0) {
                removed = true;
                set_aside[{key, p}] = now;
            }
        if (!removed) return;
        std::erase_if(partitions, [&](const Partition& part) {
            return !index.contains({topic_key(ids, part.topic, part.topic_id), part.request.partition});
        });
        reindex();
    }

    void reindex() {
        index.clear();
        for (size_t i = 0; i < partitions.size(); ++i)
            index.emplace(Key{topic_key(ids, partitions[i].topic, partitions[i].topic_id), partitions[i].request.partition}, i);
    }

    // Every partition of the session as a full request's topic list, in the session's order, partitions
    // grouped by topic in the order of each topic's first partition.
    std::vector<kafka::FetchRequest::FetchTopic> as_request() const {
        std::vector<kafka::FetchRequest::FetchTopic> topics;
        std::map<std::string, size_t> topic_index;
        for (const Partition& part : partitions) {
            auto [it, fresh] = topic_index.try_emplace(topic_key(ids, part.topic, part.topic_id), topics.size());
            if (fresh) {
                auto& t = topics.emplace_back();
                t.topic = part.topic;
                t.topic_id = part.topic_id;
            }
            topics[it->second].partitions.push_back(part.request);
        }
        return topics;
    }
};

FetchSessions::FetchSessions(size_t max_sessions, Clock::duration idle_limit)
    : max_sessions_(max_sessions), idle_limit_(idle_limit), random_(std::random_device{}()) {}

FetchSessions::~FetchSessions() = default;

size_t FetchSessions::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

void FetchSessions::erase(int32_t id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    lru_.erase(it->second.lru);
    sessions_.erase(it);
}

std::shared_ptr<FetchSessions::Session> FetchSessions::create(const kafka::FetchRequest& request, int16_t version,
                                                              Clock::time_point now) {
    // Make room by dropping sessions idle too long; when the cache is still full the client gets
    // no session (id 0) and keeps sending full fetches, rather than evicting an active session and
    // starting a churn in which no session survives long enough to be used.
    while (!lru_.empty() && sessions_.size() >= max_sessions_) {
        auto oldest = sessions_.find(lru_.front());
        if (now - oldest->second.session->last_used < idle_limit_) break;
        erase(lru_.front());
    }
    if (sessions_.size() >= max_sessions_) return nullptr;

    auto session = std::make_shared<Session>();
    std::uniform_int_distribution<int32_t> ids(1, INT32_MAX);
    do session->id = ids(random_);
    while (sessions_.contains(session->id));
    session->ids = version >= by_topic_id;
    session->last_used = now;
    for (const auto& t : request.topics)
        for (const auto& p : t.partitions) session->upsert(t, p);
    lru_.push_back(session->id);
    sessions_.emplace(session->id, Slot{session, std::prev(lru_.end())});
    return session;
}

FetchSessions::Context FetchSessions::begin(kafka::FetchRequest& request, int16_t version, Clock::time_point now) {
    Context ctx;
    if (version < first_version) return ctx;
    std::lock_guard lock(mutex_);
    const int32_t id = request.session_id;
    const int32_t epoch = request.session_epoch;

    if (epoch == -1 || epoch == 0) {   // full fetch; closes the named session first
        if (id != 0) erase(id);
        if (epoch == 0) {
            ctx.session = create(request, version, now);
            if (ctx.session) ctx.session_id = ctx.session->id;
        }
        return ctx;
    }
    if (id == 0) {   // an incremental epoch without a session
        ctx.error = ErrorCode::invalid_fetch_session_epoch;
        return ctx;
    }
    auto it = sessions_.find(id);
    if (it == sessions_.end()) {
        ctx.error = ErrorCode::fetch_session_id_not_found;
        return ctx;
    }
    std::shared_ptr<Session> session = it->second.session;
    std::lock_guard session_lock(session->mutex);
    if (epoch != session->next_epoch) {
        ctx.error = ErrorCode::invalid_fetch_session_epoch;
        return ctx;
    }
    if (session->ids != (version >= by_topic_id)) {   // a session cannot switch between names and ids
        ctx.error = ErrorCode::fetch_session_topic_id_error;
        return ctx;
    }
    // As Kafka: additions and updates first, then what the client forgets.
    for (const auto& t : request.topics)
        for (const auto& p : t.partitions) session->upsert(t, p);
    for (const auto& f : request.forgotten_topics_data) session->forget(f, now);
    std::erase_if(session->set_aside, [&](const auto& e) { return now - e.second >= set_aside_limit; });
    ctx.partitions_set_aside = !session->set_aside.empty();
    session->next_epoch = session->next_epoch == INT32_MAX ? 1 : session->next_epoch + 1;
    session->last_used = now;
    lru_.splice(lru_.end(), lru_, it->second.lru);
    request.topics = session->as_request();
    ctx.session = std::move(session);
    ctx.session_id = id;
    ctx.incremental = true;
    return ctx;
}

void FetchSessions::finish(const Context& ctx, kafka::FetchResponse& response) const {
    response.session_id = ctx.session_id;
    if (!ctx.session) return;
    Session& session = *ctx.session;
    std::lock_guard lock(session.mutex);
    for (auto& t : response.responses) {
        const std::string key = topic_key(session.ids, t.topic, t.topic_id);
        std::erase_if(t.partitions, [&](kafka::FetchResponse::PartitionData& p) {
            auto it = session.index.find({key, p.partition_index});
            if (it == session.index.end()) return false;
            Session::Partition& cached = session.partitions[it->second];
            const bool news = (p.records && !p.records->empty()) || p.error_code != 0 ||
                              p.high_watermark != cached.high_watermark ||
                              p.last_stable_offset != cached.last_stable_offset ||
                              p.log_start_offset != cached.log_start_offset;
            if (news || !ctx.incremental) {
                cached.high_watermark = p.high_watermark;
                cached.last_stable_offset = p.last_stable_offset;
                cached.log_start_offset = p.log_start_offset;
            }
            return ctx.incremental && !news;
        });
    }
    if (!ctx.incremental) return;
    std::erase_if(response.responses, [](const auto& t) { return t.partitions.empty(); });
    // As Kafka: partitions that returned records move to the end of the session, so the next read
    // starts with the others; when an answer is cut at the request's max_bytes, the partitions first in
    // line are not the only ones ever served.
    std::vector<size_t> moved;
    for (const auto& t : response.responses) {
        const std::string key = topic_key(session.ids, t.topic, t.topic_id);
        for (const auto& p : t.partitions)
            if (p.records && !p.records->empty())
                if (auto it = session.index.find({key, p.partition_index}); it != session.index.end()) moved.push_back(it->second);
    }
    if (moved.empty()) return;
    std::vector<bool> is_moved(session.partitions.size());
    for (size_t i : moved) is_moved[i] = true;
    std::vector<Session::Partition> order;
    order.reserve(session.partitions.size());
    for (size_t i = 0; i < session.partitions.size(); ++i)
        if (!is_moved[i]) order.push_back(std::move(session.partitions[i]));
    for (size_t i : moved) order.push_back(std::move(session.partitions[i]));
    session.partitions = std::move(order);
    session.reindex();
}

} // namespace gateway
