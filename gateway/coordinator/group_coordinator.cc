#include "gateway/coordinator/group_coordinator.h"

#include "gateway/coordinator/group_records.h"
#include "generated/consumer_protocol_subscription.h"
#include "runtime/codec_error.h"
#include "runtime/log.h"
#include "runtime/reader.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <future>
#include <random>
#include <set>

namespace gateway {

const char* group_state_name(GroupState s) {
    switch (s) {
    case GroupState::empty: return "Empty";
    case GroupState::preparing_rebalance: return "PreparingRebalance";
    case GroupState::completing_rebalance: return "CompletingRebalance";
    case GroupState::stable: return "Stable";
    case GroupState::dead: return "Dead";
    }
    return "Unknown";
}

ErrorCode coordinator_error(StorageErrc e) {
    // Retriable for the client (it finds the coordinator again and retries), as Kafka maps a failed
    // append to its offsets topic.
    return e == StorageErrc::none ? ErrorCode::none : ErrorCode::coordinator_not_available;
}

struct GroupCoordinator::Member {
    std::string id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::vector<GroupProtocol> protocols;
    std::string assignment;
    JoinCallback join_cb;   // set while its JoinGroup waits
    SyncCallback sync_cb;   // set while its SyncGroup waits
    bool is_new = false;
    int64_t session_deadline = 0;

    const std::string* metadata_for(const std::optional<std::string>& protocol) const {
        if (!protocol) return nullptr;
        for (const auto& p : protocols)
            if (p.name == *protocol) return &p.metadata;
        return nullptr;
    }
    // Its session can expire: new members waiting to join can, others only when not waiting.
    bool session_counts() const { return is_new || (!join_cb && !sync_cb); }
};

struct GroupCoordinator::Group {
    std::string id;
    GroupState state = GroupState::empty;
    GroupState previous_state = GroupState::empty;
    int64_t state_since = 0;
    int32_t generation = 0;
    std::optional<std::string> protocol_type;   // nullopt: offsets only (a "simple" consumer)
    std::optional<std::string> protocol_name;
    std::optional<std::string> leader;
    std::map<std::string, Member> members;
    std::map<std::string, std::string> static_members;   // instance id -> member id
    std::map<std::string, int64_t> pending_members;       // MEMBER_ID_REQUIRED ids -> deadline
    std::set<std::string> pending_sync;
    std::map<std::string, int> supported_protocols;        // protocol -> members supporting it
    int awaiting_join = 0;
    // Join barrier (PreparingRebalance).
    std::optional<int64_t> join_deadline;
    bool initial_delay = false;
    bool new_member_added = false;
    int64_t delay_ms = 0;
    int64_t remaining_ms = 0;
    // Sync barrier: members that must send SyncGroup by then (CompletingRebalance, Stable).
    std::optional<int64_t> sync_deadline;
    std::optional<std::set<std::string>> subscribed_topics;   // consumer groups; nullopt: unknown
    std::map<TopicPartition, StoredOffset> offsets;
    bool stored = false;   // a "group/" record exists

    bool has(const std::string& member_id) const { return members.count(member_id) != 0; }
    bool is_leader(const std::string& member_id) const { return leader && *leader == member_id; }
    bool fenced(const std::optional<std::string>& instance, const std::string& member_id) const {
        if (!instance) return false;
        auto it = static_members.find(*instance);
        return it != static_members.end() && it->second != member_id;
    }
    int64_t rebalance_timeout() const {
        int64_t t = 0;
        for (const auto& [_, m] : members) t = std::max<int64_t>(t, m.rebalance_timeout_ms);
        return t;
    }
    bool supports(const std::string& type, const std::vector<GroupProtocol>& protocols) const {
        if (state == GroupState::empty) return !type.empty() && !protocols.empty();
        if (!protocol_type || *protocol_type != type) return false;
        for (const auto& p : protocols) {
            auto it = supported_protocols.find(p.name);
            int n = it == supported_protocols.end() ? 0 : it->second;
            if (n == static_cast<int>(members.size())) return true;
        }
        return false;
    }
    // Kafka's vote: among the protocols every member supports, each member votes for the first of its
    // own list; most votes wins (ties: the first to reach the winning count in member order).
    std::string select_protocol() const {
        std::set<std::string> candidates;
        for (const auto& [name, n] : supported_protocols)
            if (n == static_cast<int>(members.size())) candidates.insert(name);
        std::map<std::string, int> votes;
        std::string best;
        int best_votes = 0;
        for (const auto& [_, m] : members) {
            for (const auto& p : m.protocols) {
                if (!candidates.count(p.name)) continue;
                int v = ++votes[p.name];
                if (v > best_votes) {
                    best_votes = v;
                    best = p.name;
                }
                break;
            }
        }
        return best;
    }
    std::optional<std::set<std::string>> compute_subscribed_topics() const {
        if (!protocol_type || *protocol_type != "consumer" || !protocol_name || members.empty()) return std::nullopt;
        std::set<std::string> topics;
        for (const auto& [_, m] : members) {
            const std::string* metadata = m.metadata_for(protocol_name);
            if (!metadata) return std::nullopt;
            try {
                kafka::Reader r(reinterpret_cast<const uint8_t*>(metadata->data()), metadata->size());
                int16_t version = r.read_int16();
                if (version < 0) return std::nullopt;
                kafka::ConsumerProtocolSubscription s;
                s.decode(r, std::min(version, kafka::ConsumerProtocolSubscription::max_version));
                topics.insert(s.topics.begin(), s.topics.end());
            } catch (const kafka::DecodeError&) {
                return std::nullopt;
            }
        }
        return topics;
    }
    bool subscribed_to(const std::string& topic) const {
        return !subscribed_topics || subscribed_topics->count(topic) != 0;
    }
};

int64_t GroupCoordinator::system_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

GroupCoordinator::GroupCoordinator(MetadataStore& store, GroupOptions options, NowMs now)
  : store_(store), options_(options), now_(std::move(now)), owns_([](std::string_view) { return true; }),
    serving_([](std::string_view) { return false; }), load_at_(0) {
    std::random_device rd;
    id_state_[0] = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    id_state_[1] = (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

GroupCoordinator::~GroupCoordinator() { shutdown(); }

// Runs the answers collected under the mutex, after releasing it.  One failing answer (it should
// not happen: an encoding bug) must not keep the others from leaving or kill the timer thread.
void GroupCoordinator::run(Outbox& out) {
    for (auto& f : out) {
        try {
            f();
        } catch (const std::exception& e) {
            kafka::log_error("coordinator", std::string("answering a group request failed: ") + e.what());
        }
    }
    out.clear();
}

void GroupCoordinator::notify_timer() { timer_changed_.notify_all(); }

bool GroupCoordinator::loading() const {
    std::lock_guard lock(mutex_);
    return !loaded_;
}

bool GroupCoordinator::loading(std::string_view group_id) const {
    std::lock_guard lock(mutex_);
    return !loaded_ || (owns_(group_id) && !serving_(group_id));
}

// ---- loading, timers, shutdown ---------------------------------------------------------------------

// Reads the groups owned but not served yet (all of them at the first load).  When the ownership
// changes meanwhile, what was read may be stale: it is thrown away and read again.
void GroupCoordinator::load() {
    Owns owns, serving;
    uint64_t version;
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        owns = owns_;
        serving = serving_;
        version = ownership_version_;
    }
    auto wanted = [&](std::string_view group_id) { return owns(group_id) && !serving(group_id); };
    auto group_records = store_.scan(group_key_prefix);
    auto offset_records = store_.scan(offset_key_prefix);
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    if (version != ownership_version_) {
        if (!load_at_) load_at_ = now_();
        notify_timer();
        return;
    }
    time_ = now_();
    std::set<std::string, std::less<>> fresh;   // groups this load creates
    size_t loaded_groups = 0, loaded_offsets = 0;
    for (const auto& [key, value] : group_records) {
        const std::string group_id = key.substr(group_key_prefix.size());
        if (!wanted(group_id) || find(group_id)) continue;
        auto stored = decode_group(value);
        if (!stored) {
            kafka::log_warn("coordinator", "skipping unreadable record " + key);
            continue;
        }
        Group& g = create(group_id);
        fresh.insert(group_id);
        g.protocol_type = stored->protocol_type;
        g.generation = stored->generation;
        g.protocol_name = stored->protocol_name;
        g.leader = stored->leader;
        g.state_since = stored->state_timestamp_ms;
        g.stored = true;
        for (auto& sm : stored->members) {
            Member m;
            m.id = sm.member_id;
            m.instance_id = sm.group_instance_id;
            m.client_id = sm.client_id;
            m.client_host = sm.client_host;
            m.session_timeout_ms = sm.session_timeout_ms;
            m.rebalance_timeout_ms = sm.rebalance_timeout_ms;
            for (auto& [name, metadata] : sm.protocols) {
                m.protocols.push_back({name, metadata});
                ++g.supported_protocols[name];
            }
            m.assignment = sm.assignment;
            // Sessions start afresh: the members may heartbeat or rejoin (as Kafka does on load).
            m.session_deadline = time_ + m.session_timeout_ms;
            if (m.instance_id) g.static_members[*m.instance_id] = m.id;
            g.members.emplace(m.id, std::move(m));
        }
        if (!g.members.empty()) {
            g.state = GroupState::stable;
            if (!g.leader || !g.has(*g.leader)) g.leader = g.members.begin()->first;
            g.subscribed_topics = g.compute_subscribed_topics();
        } else {
            g.leader.reset();
        }
        ++loaded_groups;
    }
    for (const auto& [key, value] : offset_records) {
        std::string group_id;
        TopicPartition tp;
        auto offset = decode_offset(value);
        if (!parse_offset_key(key, group_id, tp) || !offset) {
            kafka::log_warn("coordinator", "skipping unreadable record " + key);
            continue;
        }
        if (!wanted(group_id)) continue;
        Group* g = find(group_id);
        if (!g) {
            g = &create(group_id);
            g->state_since = offset->commit_timestamp_ms;
            fresh.insert(group_id);
        } else if (!fresh.count(group_id)) {
            continue;
        }
        g->offsets[tp] = *offset;
        ++loaded_offsets;
    }
    const bool first = !loaded_;
    loaded_ = true;
    serving_ = owns_;
    load_at_.reset();
    if (first) next_retention_check_ = time_ + options_.offsets_retention_check_interval_ms;
    kafka::log_info("coordinator", "loaded " + std::to_string(loaded_groups) + " group(s) and " +
                                       std::to_string(loaded_offsets) + " committed offset(s)");
    notify_timer();
}

void GroupCoordinator::set_ownership(Owns owns, int64_t load_at_ms) {
    Outbox out;
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        time_ = now_();
        serving_ = [before = serving_, owns](std::string_view group_id) { return before(group_id) && owns(group_id); };
        owns_ = std::move(owns);
        ++ownership_version_;
        std::vector<std::string> lost;
        for (const auto& [id, _] : groups_)
            if (!owns_(id)) lost.push_back(id);
        for (const std::string& id : lost) {
            fail_waiting(*groups_[id], ErrorCode::not_coordinator, out);
            groups_.erase(id);
        }
        if (!lost.empty())
            kafka::log_info("coordinator", "handed over " + std::to_string(lost.size()) +
                                               " group(s) to other gateways");
        load_at_ = load_at_ ? std::max(*load_at_, load_at_ms) : load_at_ms;
        notify_timer();
    }
    run(out);
}

void GroupCoordinator::start() {
    std::lock_guard lock(mutex_);
    if (timer_.joinable() || stopped_) return;
    timer_ = std::thread([this] { timer_loop(); });
}

void GroupCoordinator::timer_loop() {
    std::unique_lock lock(mutex_);
    while (!stopped_) {
        if (load_at_ && *load_at_ <= now_()) {
            lock.unlock();
            try {
                load();
            } catch (const std::exception& e) {
                kafka::log_error("coordinator", std::string("loading groups and offsets failed (retrying in 1 s): ") +
                                                    e.what());
                std::lock_guard again(mutex_);
                load_at_ = now_() + 1000;
            }
            lock.lock();
            continue;
        }
        auto next = next_deadline_locked();
        int64_t now = now_();
        if (next && *next <= now) {
            lock.unlock();
            advance();
            lock.lock();
            // Whatever advance() left due waits a little rather than spinning.
            if (auto again = next_deadline_locked(); again && *again <= now_() && !stopped_)
                timer_changed_.wait_for(lock, std::chrono::milliseconds(10));
            continue;
        }
        if (next) timer_changed_.wait_for(lock, std::chrono::milliseconds(*next - now));
        else timer_changed_.wait(lock);
    }
}

void GroupCoordinator::shutdown() {
    Outbox out;
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
        for (auto& [_, g] : groups_) fail_waiting(*g, ErrorCode::not_coordinator, out);
        notify_timer();
    }
    writer_.stop();   // commits still queued are answered COORDINATOR_NOT_AVAILABLE, not written
    if (timer_.joinable() && timer_.get_id() != std::this_thread::get_id()) timer_.join();
    write_order_.wait_idle();   // writes outside the mutex are done with the store
    run(out);
}

// Answers every join and sync the group's members are waiting for with `error`.
void GroupCoordinator::fail_waiting(Group& g, ErrorCode error, Outbox& out) {
    for (auto& [_, m] : g.members) {
        if (m.join_cb) {
            JoinResult r;
            r.error = error;
            r.member_id = m.id;
            answer_join(g, m, r, out);
        }
        if (m.sync_cb) {
            SyncResult r;
            r.error = error;
            answer_sync(m, r, out);
        }
    }
}

std::optional<int64_t> GroupCoordinator::next_deadline() const {
    std::lock_guard lock(mutex_);
    return next_deadline_locked();
}

std::optional<int64_t> GroupCoordinator::next_deadline_locked() const {
    if (stopped_) return std::nullopt;
    if (!loaded_) return load_at_;
    int64_t next = next_retention_check_;
    if (load_at_) next = std::min(next, *load_at_);
    for (const auto& [_, g] : groups_) {
        for (const auto& [_, d] : g->pending_members) next = std::min(next, d);
        for (const auto& [_, m] : g->members)
            if (m.session_counts()) next = std::min(next, m.session_deadline);
        if (g->state == GroupState::preparing_rebalance && g->join_deadline) next = std::min(next, *g->join_deadline);
        if (g->sync_deadline) next = std::min(next, *g->sync_deadline);
    }
    return next;
}

void GroupCoordinator::advance() {
    Outbox out;
    {
        std::lock_guard lock(mutex_);
        if (!loaded_ || stopped_) return;
        time_ = now_();
        std::vector<std::string> ids;
        for (const auto& [id, _] : groups_) ids.push_back(id);
        for (const auto& id : ids) {
            Group* g = find(id);
            if (!g) continue;
            std::vector<std::string> due;
            for (const auto& [member_id, d] : g->pending_members)
                if (d <= time_) due.push_back(member_id);
            for (const auto& member_id : due) remove_pending_member(*g, member_id, out);
            due.clear();
            for (const auto& [member_id, m] : g->members)
                if (m.session_counts() && m.session_deadline <= time_) due.push_back(member_id);
            for (const auto& member_id : due) {
                kafka::log_info("coordinator", "member " + member_id + " of group " + id +
                                                   " has failed (session timeout); removing it");
                remove_member_and_update_group(*g, member_id, out);
            }
            if (g->state == GroupState::preparing_rebalance && g->join_deadline && *g->join_deadline <= time_) {
                if (g->initial_delay && g->new_member_added && g->remaining_ms != 0) {
                    // Members keep arriving: wait a little longer, within the rebalance timeout.
                    g->new_member_added = false;
                    int64_t delay = std::min(options_.initial_rebalance_delay_ms, g->remaining_ms);
                    g->remaining_ms = std::max<int64_t>(g->remaining_ms - g->delay_ms, 0);
                    g->delay_ms = delay;
                    g->join_deadline = *g->join_deadline + delay;   // as if fired on time
                } else {
                    complete_join(*g, out);
                }
            }
            if (g->sync_deadline && *g->sync_deadline <= time_) {
                g->sync_deadline.reset();
                if ((g->state == GroupState::completing_rebalance || g->state == GroupState::stable) &&
                    !g->pending_sync.empty()) {
                    std::vector<std::string> late(g->pending_sync.begin(), g->pending_sync.end());
                    kafka::log_info("coordinator", "group " + id + ": removing " + std::to_string(late.size()) +
                                                       " member(s) that did not send SyncGroup in time");
                    for (const auto& member_id : late) remove_member(*g, member_id, out);
                    prepare_rebalance(*g, out);
                }
            }
            erase_if_unused(*g);
        }
        if (time_ >= next_retention_check_) {
            expire_offsets(out);
            next_retention_check_ = time_ + options_.offsets_retention_check_interval_ms;
        }
    }
    run(out);
}

// ---- helpers ---------------------------------------------------------------------------------------

ErrorCode GroupCoordinator::status_error(const std::string& group_id, bool empty_id_allowed) const {
    if (!empty_id_allowed && group_id.empty()) return ErrorCode::invalid_group_id;
    if (stopped_) return ErrorCode::coordinator_not_available;
    if (!owns_(group_id)) return ErrorCode::not_coordinator;
    if (!loaded_ || !serving_(group_id)) return ErrorCode::coordinator_load_in_progress;
    return ErrorCode::none;
}

GroupCoordinator::Group* GroupCoordinator::find(const std::string& group_id) {
    auto it = groups_.find(group_id);
    return it == groups_.end() ? nullptr : it->second.get();
}

GroupCoordinator::Group& GroupCoordinator::create(const std::string& group_id) {
    auto g = std::make_unique<Group>();
    g->id = group_id;
    g->state_since = time_;
    Group& ref = *g;
    groups_[group_id] = std::move(g);
    return ref;
}

// Drops a group that holds nothing worth keeping (never stored, no members, no offsets).
void GroupCoordinator::erase_if_unused(Group& g) {
    if (g.state == GroupState::dead || (g.state == GroupState::empty && g.members.empty() &&
                                        g.pending_members.empty() && g.offsets.empty() && !g.stored))
        groups_.erase(g.id);
}

void GroupCoordinator::transition(Group& g, GroupState to) {
    g.previous_state = g.state;
    g.state = to;
    g.state_since = time_;
}

void GroupCoordinator::schedule_session(Member& m, int64_t timeout_ms) { m.session_deadline = time_ + timeout_ms; }

std::string GroupCoordinator::new_member_id(const std::string& prefix) {
    // xorshift128+ seeded from random_device: unique enough for member ids, cheap under the mutex.
    auto next = [this] {
        uint64_t s1 = id_state_[0];
        const uint64_t s0 = id_state_[1];
        id_state_[0] = s0;
        s1 ^= s1 << 23;
        id_state_[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
        return id_state_[1] + s0;
    };
    uint64_t a = next(), b = next();
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                  static_cast<unsigned>(((b >> 48) & 0x3fff) | 0x8000),
                  static_cast<unsigned long long>(b & 0xffffffffffffULL));
    return prefix + "-" + buf;
}

void GroupCoordinator::answer_join(Group& g, Member& m, JoinResult result, Outbox& out) {
    if (!m.join_cb) return;
    JoinCallback cb = std::move(m.join_cb);
    m.join_cb = nullptr;
    --g.awaiting_join;
    out.push_back([cb = std::move(cb), result = std::move(result)] { cb(result); });
}

void GroupCoordinator::answer_sync(Member& m, SyncResult result, Outbox& out) {
    if (!m.sync_cb) return;
    SyncCallback cb = std::move(m.sync_cb);
    m.sync_cb = nullptr;
    out.push_back([cb = std::move(cb), result = std::move(result)] { cb(result); });
}

JoinResult GroupCoordinator::generation_result(const Group& g, const Member& m, bool with_members) const {
    JoinResult r;
    r.generation_id = g.generation;
    r.protocol_type = g.protocol_type;
    r.protocol_name = g.protocol_name;
    r.leader = g.leader.value_or("");
    r.member_id = m.id;
    if (with_members)
        for (const auto& [id, other] : g.members) {
            const std::string* metadata = other.metadata_for(g.protocol_name);
            r.members.push_back({id, other.instance_id, metadata ? *metadata : std::string()});
        }
    return r;
}

StorageErrc GroupCoordinator::write_locked(std::span<const MetadataWrite> writes) {
    WriteOrder::Ticket ticket = write_order_.take();
    for (const MetadataWrite& w : writes) {
        if (auto it = pending_commits_.find(w.key); it != pending_commits_.end()) {
            it->second.latest = ticket.number();
            it->second.deleted = !w.value;
        }
    }
    return write_order_.apply(ticket, store_, writes);
}

namespace {

StoredGroup stored_form(const GroupCoordinator::Group& g);

} // namespace

StorageErrc GroupCoordinator::store_group(const Group& g) {
    MetadataWrite w{group_key(g.id), encode_group(stored_form(g))};
    StorageErrc e = write_locked(std::span(&w, 1));
    if (e != StorageErrc::none) kafka::log_warn("coordinator", "storing group " + g.id + " failed");
    return e;
}

void GroupCoordinator::store_group_later(Group& g, AfterStore then) {
    std::vector<MetadataWrite> writes;
    writes.push_back({group_key(g.id), encode_group(stored_form(g))});
    writer_.submit(write_order_.take(), std::move(writes),
                   [this, id = g.id, generation = g.generation, then = std::move(then)](StorageErrc e) {
                       if (e != StorageErrc::none) kafka::log_warn("coordinator", "storing group " + id + " failed");
                       Outbox out;
                       {
                           std::lock_guard lock(mutex_);
                           time_ = now_();
                           Group* g = find(id);
                           if (g && g->generation == generation && !stopped_) then(*g, e, out);
                       }
                       run(out);
                       notify_timer();   // `then` set deadlines (sessions, a rebalance's) the timer may sleep past
                   });
}

namespace {

StoredGroup stored_form(const GroupCoordinator::Group& g) {
    StoredGroup s;
    s.protocol_type = g.protocol_type;
    s.generation = g.generation;
    s.protocol_name = g.protocol_name;
    s.leader = g.leader;
    s.state_timestamp_ms = g.state_since;
    for (const auto& [_, m] : g.members) {
        StoredMember& sm = s.members.emplace_back();
        sm.member_id = m.id;
        sm.group_instance_id = m.instance_id;
        sm.client_id = m.client_id;
        sm.client_host = m.client_host;
        sm.session_timeout_ms = m.session_timeout_ms;
        sm.rebalance_timeout_ms = m.rebalance_timeout_ms;
        for (const auto& p : m.protocols) sm.protocols.emplace_back(p.name, p.metadata);
        sm.assignment = m.assignment;
    }
    return s;
}

} // namespace

StorageErrc GroupCoordinator::delete_group_records(Group& g) {
    std::vector<MetadataWrite> writes;
    if (g.stored) writes.push_back({group_key(g.id), std::nullopt});
    for (const auto& [tp, _] : g.offsets) writes.push_back({offset_key(g.id, tp), std::nullopt});
    for (const auto& [key, pending] : pending_commits_) {   // commits still writing: their offsets go too
        std::string group;
        TopicPartition tp;
        if (!pending.deleted && parse_offset_key(key, group, tp) && group == g.id && !g.offsets.contains(tp))
            writes.push_back({key, std::nullopt});
    }
    if (writes.empty()) return StorageErrc::none;
    StorageErrc e = write_locked(writes);
    if (e == StorageErrc::none) {
        g.stored = false;
        g.offsets.clear();
    }
    return e;
}

// ---- membership ------------------------------------------------------------------------------------

void GroupCoordinator::remove_member(Group& g, const std::string& member_id, Outbox& out) {
    auto it = g.members.find(member_id);
    if (it == g.members.end()) return;
    Member& m = it->second;
    JoinResult jr;
    jr.error = ErrorCode::unknown_member_id;
    answer_join(g, m, jr, out);
    SyncResult sr;
    sr.error = ErrorCode::unknown_member_id;
    answer_sync(m, sr, out);
    for (const auto& p : m.protocols)
        if (--g.supported_protocols[p.name] <= 0) g.supported_protocols.erase(p.name);
    if (m.instance_id) {
        auto s = g.static_members.find(*m.instance_id);
        if (s != g.static_members.end() && s->second == member_id) g.static_members.erase(s);
    }
    g.members.erase(it);
    g.pending_sync.erase(member_id);
    if (g.is_leader(member_id))
        g.leader = g.members.empty() ? std::nullopt : std::optional<std::string>(g.members.begin()->first);
}

void GroupCoordinator::remove_member_and_update_group(Group& g, const std::string& member_id, Outbox& out) {
    remove_member(g, member_id, out);
    switch (g.state) {
    case GroupState::stable:
    case GroupState::completing_rebalance: maybe_prepare_rebalance(g, out); break;
    case GroupState::preparing_rebalance: try_complete_join(g, out); break;
    default: break;
    }
}

void GroupCoordinator::remove_pending_member(Group& g, const std::string& member_id, Outbox& out) {
    g.pending_members.erase(member_id);
    if (g.state == GroupState::preparing_rebalance) try_complete_join(g, out);
}

void GroupCoordinator::maybe_prepare_rebalance(Group& g, Outbox& out) {
    if (g.state == GroupState::stable || g.state == GroupState::completing_rebalance || g.state == GroupState::empty)
        prepare_rebalance(g, out);
}

void GroupCoordinator::prepare_rebalance(Group& g, Outbox& out) {
    if (g.state == GroupState::completing_rebalance)
        reset_and_propagate_assignment_error(g, ErrorCode::rebalance_in_progress, out);
    g.sync_deadline.reset();
    g.pending_sync.clear();
    const bool initial = g.state == GroupState::empty;
    transition(g, GroupState::preparing_rebalance);
    if (initial && options_.initial_rebalance_delay_ms > 0) {
        // Kafka's InitialDelayedJoin: give the other members of a new group time to arrive.
        g.initial_delay = true;
        g.new_member_added = false;
        g.delay_ms = options_.initial_rebalance_delay_ms;
        g.remaining_ms = std::max<int64_t>(g.rebalance_timeout() - options_.initial_rebalance_delay_ms, 0);
        g.join_deadline = time_ + options_.initial_rebalance_delay_ms;
    } else {
        g.initial_delay = false;
        g.join_deadline = time_ + g.rebalance_timeout();
        try_complete_join(g, out);
    }
}

void GroupCoordinator::try_complete_join(Group& g, Outbox& out) {
    if (g.state == GroupState::preparing_rebalance && !g.initial_delay &&
        static_cast<int>(g.members.size()) == g.awaiting_join && g.pending_members.empty())
        complete_join(g, out);
}

void GroupCoordinator::complete_join(Group& g, Outbox& out) {
    g.join_deadline.reset();
    g.initial_delay = false;
    std::vector<std::string> gone;   // dynamic members that did not rejoin; static ones stay
    for (const auto& [id, m] : g.members)
        if (!m.join_cb && !m.instance_id) gone.push_back(id);
    for (const auto& id : gone) remove_member(g, id, out);
    if (g.state == GroupState::dead) return;

    // The leader must be a member that rejoined.
    bool have_leader = false;
    if (g.leader && g.has(*g.leader)) {
        if (g.members.at(*g.leader).join_cb) have_leader = true;
        else
            for (const auto& [id, m] : g.members)
                if (m.join_cb) {
                    g.leader = id;
                    have_leader = true;
                    break;
                }
    }
    if (!have_leader && !g.members.empty()) {   // nobody rejoined: wait for sessions to expire
        g.join_deadline = time_ + g.rebalance_timeout();
        return;
    }

    ++g.generation;
    g.pending_sync.clear();
    if (g.members.empty()) {
        g.protocol_name.reset();
        g.leader.reset();
        g.subscribed_topics.reset();
        transition(g, GroupState::empty);
        g.stored = true;   // the record is on its way (and a later deletion of it is written after it)
        store_group_later(g, [](Group&, StorageErrc, Outbox&) {});
        kafka::log_info("coordinator", "group " + g.id + " is empty at generation " + std::to_string(g.generation));
        return;
    }
    g.protocol_name = g.select_protocol();
    g.subscribed_topics = g.compute_subscribed_topics();
    transition(g, GroupState::completing_rebalance);
    for (auto& [id, m] : g.members) {
        answer_join(g, m, generation_result(g, m, g.is_leader(id)), out);
        schedule_session(m, m.session_timeout_ms);
        m.is_new = false;
        g.pending_sync.insert(id);
    }
    g.sync_deadline = time_ + g.rebalance_timeout();
    kafka::log_info("coordinator", "group " + g.id + " generation " + std::to_string(g.generation) + " with " +
                                       std::to_string(g.members.size()) + " member(s), protocol " +
                                       *g.protocol_name);
}

void GroupCoordinator::propagate_assignment(Group& g, ErrorCode error, Outbox& out) {
    for (auto& [_, m] : g.members) {
        if (!m.sync_cb) continue;
        SyncResult r;
        r.error = error;
        if (error == ErrorCode::none) {
            r.protocol_type = g.protocol_type;
            r.protocol_name = g.protocol_name;
        }
        r.assignment = m.assignment;
        answer_sync(m, std::move(r), out);
        schedule_session(m, m.session_timeout_ms);
    }
}

void GroupCoordinator::reset_and_propagate_assignment_error(Group& g, ErrorCode error, Outbox& out) {
    for (auto& [_, m] : g.members) m.assignment.clear();
    propagate_assignment(g, error, out);
}

// ---- JoinGroup -------------------------------------------------------------------------------------

void GroupCoordinator::join(JoinRequest req, JoinCallback done) {
    // A protocol named twice counts once (Kafka keeps them in a set keyed by name).
    std::set<std::string> seen;
    std::erase_if(req.protocols, [&](const GroupProtocol& p) { return !seen.insert(p.name).second; });
    Outbox out;
    {
        std::lock_guard lock(mutex_);
        time_ = now_();
        auto fail = [&](ErrorCode e) {
            JoinResult r;
            r.error = e;
            r.member_id = req.member_id;
            out.push_back([done, r] { done(r); });
        };
        ErrorCode e = status_error(req.group_id, false);
        if (e != ErrorCode::none) {
            fail(e);
        } else if (req.session_timeout_ms < options_.min_session_timeout_ms ||
                   req.session_timeout_ms > options_.max_session_timeout_ms) {
            fail(ErrorCode::invalid_session_timeout);
        } else {
            Group* g = find(req.group_id);
            const bool new_member = req.member_id.empty();
            if (!g && !new_member) {
                fail(ErrorCode::unknown_member_id);
            } else {
                if (!g) g = &create(req.group_id);
                bool accept = true;
                switch (g->state) {
                case GroupState::empty:
                case GroupState::dead: break;
                case GroupState::preparing_rebalance:
                    accept = (g->has(req.member_id) && g->members.at(req.member_id).join_cb) ||
                             g->awaiting_join < options_.max_size;
                    break;
                case GroupState::completing_rebalance:
                case GroupState::stable:
                    accept = g->has(req.member_id) || static_cast<int64_t>(g->members.size()) < options_.max_size;
                    break;
                }
                if (!accept) fail(ErrorCode::group_max_size_reached);
                else if (new_member) join_new_member(*g, req, done, out);
                else join_existing_member(*g, req, done, out);
                if (g->state == GroupState::preparing_rebalance) try_complete_join(*g, out);
                erase_if_unused(*g);
            }
        }
    }
    run(out);
    notify_timer();
}

void GroupCoordinator::join_new_member(Group& g, JoinRequest& req, JoinCallback& done, Outbox& out) {
    auto fail = [&](ErrorCode e, const std::string& member_id) {
        JoinResult r;
        r.error = e;
        r.member_id = member_id;
        out.push_back([done, r] { done(r); });
    };
    if (g.state == GroupState::dead) return fail(ErrorCode::coordinator_not_available, req.member_id);
    if (!g.supports(req.protocol_type, req.protocols)) return fail(ErrorCode::inconsistent_group_protocol, req.member_id);
    std::string id = new_member_id(req.group_instance_id ? *req.group_instance_id : req.client_id);
    if (req.group_instance_id) {
        auto it = g.static_members.find(*req.group_instance_id);
        if (it != g.static_members.end()) {
            std::string old_id = it->second;
            update_static_member(g, old_id, id, req, std::move(done), out);
        } else {
            add_member_and_rebalance(g, id, req, std::move(done), out);
        }
    } else if (req.require_known_member_id) {
        // KIP-394: the client must come back with this id (within the session timeout).
        g.pending_members[id] = time_ + req.session_timeout_ms;
        fail(ErrorCode::member_id_required, id);
    } else {
        add_member_and_rebalance(g, id, req, std::move(done), out);
    }
}

void GroupCoordinator::join_existing_member(Group& g, JoinRequest& req, JoinCallback& done, Outbox& out) {
    auto fail = [&](ErrorCode e) {
        JoinResult r;
        r.error = e;
        r.member_id = req.member_id;
        out.push_back([done, r] { done(r); });
    };
    if (g.state == GroupState::dead) return fail(ErrorCode::coordinator_not_available);
    if (!g.supports(req.protocol_type, req.protocols)) return fail(ErrorCode::inconsistent_group_protocol);
    if (g.pending_members.count(req.member_id)) {
        add_member_and_rebalance(g, req.member_id, req, std::move(done), out);
        return;
    }
    const bool instance_unknown = req.group_instance_id && !g.static_members.count(*req.group_instance_id);
    if (g.fenced(req.group_instance_id, req.member_id)) return fail(ErrorCode::fenced_instance_id);
    if (!g.has(req.member_id) || instance_unknown) return fail(ErrorCode::unknown_member_id);
    Member& m = g.members.at(req.member_id);
    switch (g.state) {
    case GroupState::preparing_rebalance: update_member_and_rebalance(g, m, req, std::move(done), out); break;
    case GroupState::completing_rebalance:
        if (m.protocols == req.protocols) {   // a retry of a join it missed the answer to
            JoinResult r = generation_result(g, m, g.is_leader(m.id));
            out.push_back([done, r] { done(r); });
        } else {
            update_member_and_rebalance(g, m, req, std::move(done), out);
        }
        break;
    case GroupState::stable:
        if (g.is_leader(m.id) || m.protocols != req.protocols) {
            // The leader rejoining asks for a new assignment (e.g. topic metadata changed).
            update_member_and_rebalance(g, m, req, std::move(done), out);
        } else {
            JoinResult r = generation_result(g, m, false);
            out.push_back([done, r] { done(r); });
        }
        break;
    case GroupState::empty:
    case GroupState::dead: fail(ErrorCode::unknown_member_id); break;
    }
}

void GroupCoordinator::add_member_and_rebalance(Group& g, const std::string& member_id, JoinRequest& req,
                                                JoinCallback done, Outbox& out) {
    Member m;
    m.id = member_id;
    m.instance_id = req.group_instance_id;
    m.client_id = req.client_id;
    m.client_host = req.client_host;
    m.session_timeout_ms = req.session_timeout_ms;
    m.rebalance_timeout_ms = req.rebalance_timeout_ms;
    m.protocols = req.protocols;
    m.is_new = true;
    m.join_cb = std::move(done);
    if (g.state == GroupState::preparing_rebalance && g.previous_state == GroupState::empty) g.new_member_added = true;
    if (g.members.empty()) g.protocol_type = req.protocol_type;
    if (!g.leader) g.leader = member_id;
    for (const auto& p : m.protocols) ++g.supported_protocols[p.name];
    ++g.awaiting_join;
    g.pending_members.erase(member_id);
    if (m.instance_id) g.static_members[*m.instance_id] = member_id;
    // A new member cannot heartbeat while its join waits; its join times out after this instead.
    schedule_session(m, options_.new_member_join_timeout_ms);
    g.members.emplace(member_id, std::move(m));
    maybe_prepare_rebalance(g, out);
}

void GroupCoordinator::update_member_and_rebalance(Group& g, Member& m, JoinRequest& req, JoinCallback done,
                                                   Outbox& out) {
    for (const auto& p : m.protocols)
        if (--g.supported_protocols[p.name] <= 0) g.supported_protocols.erase(p.name);
    m.protocols = req.protocols;
    for (const auto& p : m.protocols) ++g.supported_protocols[p.name];
    m.rebalance_timeout_ms = req.rebalance_timeout_ms;
    m.session_timeout_ms = req.session_timeout_ms;
    if (m.join_cb) {   // a second JoinGroup while the first waits: the first is answered now
        JoinResult r;
        r.error = ErrorCode::rebalance_in_progress;
        r.member_id = m.id;
        answer_join(g, m, r, out);
    }
    m.join_cb = std::move(done);
    ++g.awaiting_join;
    maybe_prepare_rebalance(g, out);
}

// KIP-345: a static member rejoining without its member id takes over its old identity; the old id
// is fenced.  A Stable group whose protocol does not change keeps its generation and assignment.
void GroupCoordinator::update_static_member(Group& g, const std::string& old_id, const std::string& new_id,
                                            JoinRequest& req, JoinCallback done, Outbox& out) {
    const std::string current_leader = g.leader.value_or("");
    auto replace = [&](const std::string& from, const std::string& to) -> Member& {
        auto node = g.members.extract(from);
        Member& m = node.mapped();
        JoinResult jr;
        jr.error = ErrorCode::fenced_instance_id;
        jr.member_id = from;
        answer_join(g, m, jr, out);
        SyncResult sr;
        sr.error = ErrorCode::fenced_instance_id;
        answer_sync(m, sr, out);
        m.id = to;
        node.key() = to;
        auto inserted = g.members.insert(std::move(node));
        if (g.is_leader(from)) g.leader = to;
        if (g.pending_sync.erase(from)) g.pending_sync.insert(to);
        g.static_members[*req.group_instance_id] = to;
        return inserted.position->second;
    };
    Member& m = replace(old_id, new_id);
    schedule_session(m, m.session_timeout_ms);
    const auto old_protocols = m.protocols;
    const int32_t old_rebalance = m.rebalance_timeout_ms, old_session = m.session_timeout_ms;
    for (const auto& p : m.protocols)
        if (--g.supported_protocols[p.name] <= 0) g.supported_protocols.erase(p.name);
    m.protocols = req.protocols;
    for (const auto& p : m.protocols) ++g.supported_protocols[p.name];
    m.rebalance_timeout_ms = req.rebalance_timeout_ms;
    m.session_timeout_ms = req.session_timeout_ms;
    m.join_cb = std::move(done);
    ++g.awaiting_join;

    switch (g.state) {
    case GroupState::stable:
        if (g.protocol_name && *g.protocol_name == g.select_protocol()) {
            StorageErrc e = store_group(g);
            if (e != StorageErrc::none) {   // not durable: back to the old identity
                JoinCallback cb = std::move(m.join_cb);
                m.join_cb = nullptr;
                --g.awaiting_join;
                for (const auto& p : m.protocols)
                    if (--g.supported_protocols[p.name] <= 0) g.supported_protocols.erase(p.name);
                m.protocols = old_protocols;
                for (const auto& p : m.protocols) ++g.supported_protocols[p.name];
                m.rebalance_timeout_ms = old_rebalance;
                m.session_timeout_ms = old_session;
                Member& back = replace(new_id, old_id);
                schedule_session(back, back.session_timeout_ms);
                JoinResult r;
                r.error = coordinator_error(e);
                r.generation_id = g.generation;
                r.protocol_type = g.protocol_type;
                r.protocol_name = g.protocol_name;
                r.leader = current_leader;
                out.push_back([cb, r] { cb(r); });
                return;
            }
            g.stored = true;
            JoinResult r;
            if (req.supports_skip_assignment) {
                // KIP-814: the leader learns the members but must not compute a new assignment.
                const bool leader = g.is_leader(new_id);
                r = generation_result(g, m, leader);
                r.skip_assignment = leader;
            } else {
                // Older clients are told the old leader, so that they do not try to assign.
                r = generation_result(g, m, false);
                r.leader = current_leader;
            }
            answer_join(g, m, r, out);
        } else {
            maybe_prepare_rebalance(g, out);
        }
        break;
    case GroupState::completing_rebalance: maybe_prepare_rebalance(g, out); break;
    default: break;   // PreparingRebalance: the join barrier answers it
    }
}

// ---- SyncGroup, Heartbeat, LeaveGroup --------------------------------------------------------------

void GroupCoordinator::sync(SyncRequest req, SyncCallback done) {
    Outbox out;
    {
        std::lock_guard lock(mutex_);
        time_ = now_();
        auto fail = [&](ErrorCode e) {
            SyncResult r;
            r.error = e;
            out.push_back([done, r] { done(r); });
        };
        ErrorCode e = status_error(req.group_id, false);
        Group* g = e == ErrorCode::none ? find(req.group_id) : nullptr;
        if (e != ErrorCode::none) fail(e);
        else if (!g) fail(ErrorCode::unknown_member_id);
        else if (g->state == GroupState::dead) fail(ErrorCode::coordinator_not_available);
        else if (g->fenced(req.group_instance_id, req.member_id)) fail(ErrorCode::fenced_instance_id);
        else if (!g->has(req.member_id)) fail(ErrorCode::unknown_member_id);
        else if (req.generation_id != g->generation) fail(ErrorCode::illegal_generation);
        else if (req.protocol_type && g->protocol_type != req.protocol_type) fail(ErrorCode::inconsistent_group_protocol);
        else if (req.protocol_name && g->protocol_name != req.protocol_name) fail(ErrorCode::inconsistent_group_protocol);
        else {
            Member& m = g->members.at(req.member_id);
            switch (g->state) {
            case GroupState::empty:
            case GroupState::dead: fail(ErrorCode::unknown_member_id); break;
            case GroupState::preparing_rebalance: fail(ErrorCode::rebalance_in_progress); break;
            case GroupState::completing_rebalance: {
                if (m.sync_cb) {
                    SyncResult r;
                    r.error = ErrorCode::rebalance_in_progress;
                    answer_sync(m, r, out);
                }
                m.sync_cb = std::move(done);
                g->pending_sync.erase(m.id);
                if (!g->is_leader(m.id)) break;
                std::map<std::string, std::string> given(req.assignments.begin(), req.assignments.end());
                for (auto& [id, member] : g->members) {
                    auto it = given.find(id);
                    member.assignment = it == given.end() ? std::string() : it->second;   // omitted: empty
                }
                // The members learn their assignments once the generation is stored; meanwhile the
                // others' SyncGroups wait as before the leader's came.  A group that moved on (a member
                // left or joined, the sync deadline passed) ignores the result: its new rebalance answers.
                store_group_later(*g, [this](Group& g, StorageErrc stored, Outbox& out) {
                    if (g.state != GroupState::completing_rebalance) return;
                    if (stored != StorageErrc::none) {
                        reset_and_propagate_assignment_error(g, coordinator_error(stored), out);
                        maybe_prepare_rebalance(g, out);
                        return;
                    }
                    g.stored = true;
                    propagate_assignment(g, ErrorCode::none, out);
                    transition(g, GroupState::stable);
                });
                break;
            }
            case GroupState::stable: {
                g->pending_sync.erase(m.id);
                SyncResult r;
                r.protocol_type = g->protocol_type;
                r.protocol_name = g->protocol_name;
                r.assignment = m.assignment;
                out.push_back([done, r] { done(r); });
                schedule_session(m, m.session_timeout_ms);
                break;
            }
            }
        }
    }
    run(out);
    notify_timer();
}

ErrorCode GroupCoordinator::heartbeat(const HeartbeatRequest& req) {
    std::lock_guard lock(mutex_);
    time_ = now_();
    if (ErrorCode e = status_error(req.group_id, false); e != ErrorCode::none) return e;
    Group* g = find(req.group_id);
    if (!g) return ErrorCode::unknown_member_id;
    if (g->state == GroupState::dead) return ErrorCode::coordinator_not_available;
    if (g->fenced(req.group_instance_id, req.member_id)) return ErrorCode::fenced_instance_id;
    if (!g->has(req.member_id)) return ErrorCode::unknown_member_id;
    if (req.generation_id != g->generation) return ErrorCode::illegal_generation;
    Member& m = g->members.at(req.member_id);
    switch (g->state) {
    case GroupState::completing_rebalance:
    case GroupState::stable: schedule_session(m, m.session_timeout_ms); return ErrorCode::none;
    case GroupState::preparing_rebalance:
        schedule_session(m, m.session_timeout_ms);
        return ErrorCode::rebalance_in_progress;
    default: return ErrorCode::unknown_member_id;
    }
}

LeaveResult GroupCoordinator::leave(const std::string& group_id, const std::vector<LeavingMember>& members) {
    Outbox out;
    LeaveResult result;
    {
        std::lock_guard lock(mutex_);
        time_ = now_();
        Group* g = nullptr;
        if (ErrorCode e = status_error(group_id, false); e != ErrorCode::none) result.error = e;
        else if (!(g = find(group_id))) result.members.assign(members.size(), ErrorCode::unknown_member_id);
        else if (g->state == GroupState::dead) result.error = ErrorCode::coordinator_not_available;
        else {
            for (const auto& leaving : members) {
                ErrorCode e = ErrorCode::none;
                if (leaving.member_id.empty()) {   // an admin removing a static member by instance id
                    auto it = leaving.group_instance_id ? g->static_members.find(*leaving.group_instance_id)
                                                        : g->static_members.end();
                    if (it == g->static_members.end()) e = ErrorCode::unknown_member_id;
                    else remove_member_and_update_group(*g, std::string(it->second), out);
                } else if (g->pending_members.count(leaving.member_id)) {
                    remove_pending_member(*g, leaving.member_id, out);
                } else if (g->fenced(leaving.group_instance_id, leaving.member_id)) {
                    e = ErrorCode::fenced_instance_id;
                } else if (g->has(leaving.member_id)) {
                    remove_member_and_update_group(*g, leaving.member_id, out);
                } else {
                    e = ErrorCode::unknown_member_id;
                }
                result.members.push_back(e);
            }
            erase_if_unused(*g);
        }
    }
    run(out);
    notify_timer();
    return result;
}

// ---- DescribeGroups, ListGroups, DeleteGroups ------------------------------------------------------

GroupDescription GroupCoordinator::describe(const std::string& group_id) {
    std::lock_guard lock(mutex_);
    GroupDescription d;
    d.group_id = group_id;
    if (ErrorCode e = status_error(group_id, true); e != ErrorCode::none) {
        d.error = e;
        return d;
    }
    Group* g = find(group_id);
    if (!g || g->state == GroupState::dead) {
        d.state = "Dead";
        return d;
    }
    d.state = group_state_name(g->state);
    d.protocol_type = g->protocol_type.value_or("");
    const bool stable = g->state == GroupState::stable;
    if (stable) d.protocol = g->protocol_name.value_or("");
    for (const auto& [id, m] : g->members) {
        MemberDescription& md = d.members.emplace_back();
        md.member_id = id;
        md.group_instance_id = m.instance_id;
        md.client_id = m.client_id;
        md.client_host = m.client_host;
        if (stable) {
            const std::string* metadata = m.metadata_for(g->protocol_name);
            if (metadata) md.metadata = *metadata;
            md.assignment = m.assignment;
        }
    }
    return d;
}

namespace {
bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}
} // namespace

ListGroupsResult GroupCoordinator::list(const std::vector<std::string>& states) {
    std::lock_guard lock(mutex_);
    ListGroupsResult r;
    if (stopped_) {
        r.error = ErrorCode::coordinator_not_available;
        return r;
    }
    if (!loaded_) r.error = ErrorCode::coordinator_load_in_progress;
    for (const auto& [id, g] : groups_) {
        if (g->state == GroupState::dead) continue;
        const char* state = group_state_name(g->state);
        if (!states.empty() &&
            std::none_of(states.begin(), states.end(), [&](const std::string& s) { return iequals(s, state); }))
            continue;
        r.groups.push_back({id, g->protocol_type.value_or(""), state});
    }
    return r;
}

std::vector<ErrorCode> GroupCoordinator::delete_groups(const std::vector<std::string>& group_ids) {
    std::lock_guard lock(mutex_);
    time_ = now_();
    std::vector<ErrorCode> result;
    for (const auto& id : group_ids) {
        if (ErrorCode e = status_error(id, true); e != ErrorCode::none) {
            result.push_back(e);
            continue;
        }
        Group* g = find(id);
        if (!g || g->state == GroupState::dead) {
            result.push_back(ErrorCode::group_id_not_found);
        } else if (g->state != GroupState::empty || !g->pending_members.empty()) {
            result.push_back(ErrorCode::non_empty_group);
        } else if (StorageErrc e = delete_group_records(*g); e != StorageErrc::none) {
            result.push_back(coordinator_error(e));
        } else {
            transition(*g, GroupState::dead);
            groups_.erase(id);
            result.push_back(ErrorCode::none);
        }
    }
    return result;
}

// ---- offsets ---------------------------------------------------------------------------------------

std::vector<ErrorCode> GroupCoordinator::commit(const CommitRequest& req) {
    std::promise<std::vector<ErrorCode>> answer;
    std::future<std::vector<ErrorCode>> answered = answer.get_future();
    commit(req, [&answer](std::vector<ErrorCode> r) { answer.set_value(std::move(r)); });
    return answered.get();
}

void GroupCoordinator::commit(const CommitRequest& req, CommitCallback done) {
    std::unique_lock lock(mutex_);
    time_ = now_();
    std::vector<ErrorCode> result(req.offsets.size(), ErrorCode::none);
    auto all = [&](ErrorCode e) {
        std::fill(result.begin(), result.end(), e);
        lock.unlock();
        done(std::move(result));
    };
    if (ErrorCode e = status_error(req.group_id, true); e != ErrorCode::none) return all(e);
    Group* g = find(req.group_id);
    if (!g) {
        // Not using Kafka's group management (generation -1): allowed; the group exists from now on.
        if (req.generation_id >= 0) return all(ErrorCode::illegal_generation);
        g = &create(req.group_id);
    }
    ErrorCode invalid = ErrorCode::none;
    if (g->state == GroupState::dead) {
        invalid = ErrorCode::coordinator_not_available;
    } else if (req.generation_id >= 0 || !req.member_id.empty() || req.group_instance_id) {
        if (g->fenced(req.group_instance_id, req.member_id)) invalid = ErrorCode::fenced_instance_id;
        else if (!g->has(req.member_id)) invalid = ErrorCode::unknown_member_id;
        else if (req.generation_id != g->generation) invalid = ErrorCode::illegal_generation;
    } else if (g->state != GroupState::empty) {
        invalid = ErrorCode::unknown_member_id;   // only members commit to a group that has some
    }
    if (invalid == ErrorCode::none) {
        switch (g->state) {
        case GroupState::completing_rebalance: invalid = ErrorCode::rebalance_in_progress; break;
        case GroupState::stable:
        case GroupState::preparing_rebalance: {
            Member& m = g->members.at(req.member_id);
            schedule_session(m, m.session_timeout_ms);
            break;
        }
        default: break;
        }
    }
    if (invalid != ErrorCode::none) {
        erase_if_unused(*g);
        return all(invalid);
    }

    std::vector<MetadataWrite> writes;
    std::vector<std::pair<TopicPartition, StoredOffset>> committed;
    for (size_t i = 0; i < req.offsets.size(); ++i) {
        const OffsetToCommit& o = req.offsets[i];
        if (o.metadata.size() > options_.offset_metadata_max_bytes) {
            result[i] = ErrorCode::offset_metadata_too_large;
            continue;
        }
        StoredOffset s;
        s.offset = o.offset;
        s.leader_epoch = o.leader_epoch;
        s.metadata = o.metadata;
        s.commit_timestamp_ms = time_;
        s.expire_timestamp_ms = req.retention_time_ms >= 0 ? time_ + req.retention_time_ms : -1;
        writes.push_back({offset_key(g->id, o.tp), encode_offset(s)});
        committed.emplace_back(o.tp, std::move(s));
    }
    erase_if_unused(*g);   // a group this commit created stays only once its offsets are written
    if (writes.empty()) {
        lock.unlock();
        return done(std::move(result));
    }

    // The write, in line but by the store writer; memory changes once it is done (as Kafka answers a
    // commit once its offsets topic holds it, and serves OffsetFetch only what it holds).
    WriteOrder::Ticket ticket = write_order_.take();
    const uint64_t number = ticket.number();
    for (const MetadataWrite& w : writes) {
        PendingCommit& p = pending_commits_[w.key];
        p.latest = number;
        p.deleted = false;
        ++p.writing;
    }
    std::vector<std::string> keys;
    keys.reserve(writes.size());
    for (const MetadataWrite& w : writes) keys.push_back(w.key);
    writer_.submit(std::move(ticket), std::move(writes),
                   [this, number, group_id = req.group_id, keys = std::move(keys), committed = std::move(committed),
                    result = std::move(result), done = std::move(done)](StorageErrc e) mutable {
                       {
                           std::lock_guard lock(mutex_);
                           time_ = now_();
                           applied_commit(group_id, number, keys, committed, e);
                       }
                       if (e != StorageErrc::none)
                           for (auto& r : result)
                               if (r == ErrorCode::none) r = coordinator_error(e);
                       done(std::move(result));
                   });
}

// Under mutex_, once a commit's write is done: its offsets go into memory unless a later write decided
// their keys meanwhile, or the group is no longer ours (the store has them; whoever coordinates the group
// next reads them there).
void GroupCoordinator::applied_commit(const std::string& group_id, uint64_t ticket, const std::vector<std::string>& keys,
                                      std::vector<std::pair<TopicPartition, StoredOffset>>& committed, StorageErrc e) {
    const bool apply = e == StorageErrc::none && status_error(group_id, true) == ErrorCode::none;
    Group* target = nullptr;
    for (size_t k = 0; k < keys.size(); ++k) {
        auto it = pending_commits_.find(keys[k]);
        const bool latest = it->second.latest == ticket;   // else a later write decided the key
        if (--it->second.writing == 0) pending_commits_.erase(it);
        if (!apply || !latest) continue;
        if (!target) {
            target = find(group_id);
            if (!target || target->state == GroupState::dead)
                target = &create(group_id);   // dropped or deleted meanwhile: the store has it now
        }
        target->offsets[committed[k].first] = std::move(committed[k].second);
    }
}

OffsetFetchResult GroupCoordinator::fetch_offsets(const std::string& group_id,
                                                  const std::optional<std::vector<TopicPartition>>& partitions) {
    std::lock_guard lock(mutex_);
    OffsetFetchResult r;
    if (ErrorCode e = status_error(group_id, true); e != ErrorCode::none) {
        r.error = e;
        return r;
    }
    Group* g = find(group_id);
    if (g && g->state == GroupState::dead) g = nullptr;
    auto entry = [](const TopicPartition& tp, const StoredOffset* o) {
        CommittedOffset c;
        c.tp = tp;
        if (o) {
            c.offset = o->offset;
            c.leader_epoch = o->leader_epoch;
            c.metadata = o->metadata;
        }
        return c;
    };
    if (partitions) {
        for (const auto& tp : *partitions) {
            const StoredOffset* o = nullptr;
            if (g)
                if (auto it = g->offsets.find(tp); it != g->offsets.end()) o = &it->second;
            r.offsets.push_back(entry(tp, o));
        }
    } else if (g) {
        for (const auto& [tp, o] : g->offsets) r.offsets.push_back(entry(tp, &o));
    }
    return r;
}

OffsetDeleteResult GroupCoordinator::delete_offsets(const std::string& group_id,
                                                    const std::vector<TopicPartition>& partitions) {
    std::lock_guard lock(mutex_);
    time_ = now_();
    OffsetDeleteResult r;
    if (ErrorCode e = status_error(group_id, false); e != ErrorCode::none) {
        r.error = e;
        return r;
    }
    Group* g = find(group_id);
    if (!g || g->state == GroupState::dead) {
        r.error = ErrorCode::group_id_not_found;
        return r;
    }
    r.partitions.assign(partitions.size(), ErrorCode::none);
    std::vector<size_t> eligible;
    if (g->state == GroupState::empty) {
        for (size_t i = 0; i < partitions.size(); ++i) eligible.push_back(i);
    } else if (g->protocol_type && *g->protocol_type == "consumer") {
        for (size_t i = 0; i < partitions.size(); ++i) {
            if (g->subscribed_to(partitions[i].topic)) r.partitions[i] = ErrorCode::group_subscribed_to_topic;
            else eligible.push_back(i);
        }
    } else {
        r.error = ErrorCode::non_empty_group;
        r.partitions.clear();
        return r;
    }
    std::vector<MetadataWrite> writes;
    for (size_t i : eligible)
        if (g->offsets.count(partitions[i])) writes.push_back({offset_key(g->id, partitions[i]), std::nullopt});
    if (!writes.empty()) {
        if (StorageErrc e = write_locked(writes); e != StorageErrc::none) {
            for (size_t i : eligible) r.partitions[i] = coordinator_error(e);
            return r;
        }
        for (size_t i : eligible) g->offsets.erase(partitions[i]);
    }
    if (g->state == GroupState::empty && g->offsets.empty() && g->members.empty() && g->pending_members.empty() &&
        delete_group_records(*g) == StorageErrc::none) {
        transition(*g, GroupState::dead);
        groups_.erase(group_id);
    }
    return r;
}

void GroupCoordinator::expire_offsets(Outbox&) {
    std::vector<std::string> ids;
    for (const auto& [id, _] : groups_) ids.push_back(id);
    size_t expired = 0, removed_groups = 0;
    for (const auto& id : ids) {
        Group& g = *groups_.at(id);
        // Kafka's GroupMetadata.removeExpiredOffsets: which clock each kind of group counts from.
        enum class Base { none, empty_since, commit_time } base = Base::none;
        bool skip_subscribed = false;
        if (g.protocol_type && g.state == GroupState::empty) base = Base::empty_since;
        else if (g.protocol_type && *g.protocol_type == "consumer" && g.subscribed_topics &&
                 g.state == GroupState::stable) {
            base = Base::commit_time;
            skip_subscribed = true;
        } else if (!g.protocol_type) base = Base::commit_time;
        std::vector<TopicPartition> gone;
        if (base != Base::none)
            for (const auto& [tp, o] : g.offsets) {
                if (skip_subscribed && g.subscribed_topics->count(tp.topic)) continue;
                bool due = o.expire_timestamp_ms >= 0
                               ? time_ >= o.expire_timestamp_ms
                               : time_ - (base == Base::empty_since ? g.state_since : o.commit_timestamp_ms) >=
                                     options_.offsets_retention_ms;
                if (due) gone.push_back(tp);
            }
        if (!gone.empty()) {
            std::vector<MetadataWrite> writes;
            for (const auto& tp : gone) writes.push_back({offset_key(id, tp), std::nullopt});
            if (write_locked(writes) != StorageErrc::none) continue;
            for (const auto& tp : gone) g.offsets.erase(tp);
            expired += gone.size();
        }
        if (g.state == GroupState::empty && g.offsets.empty() && g.members.empty() && g.pending_members.empty() &&
            delete_group_records(g) == StorageErrc::none) {
            transition(g, GroupState::dead);
            groups_.erase(id);
            ++removed_groups;
        }
    }
    if (expired || removed_groups)
        kafka::log_info("coordinator", "expired " + std::to_string(expired) + " offset(s), removed " +
                                           std::to_string(removed_groups) + " group(s)");
}

void GroupCoordinator::topic_deleted(const std::string& topic) {
    std::lock_guard lock(mutex_);
    time_ = now_();
    for (auto& [id, g] : groups_) {
        std::vector<MetadataWrite> writes;
        std::vector<TopicPartition> gone;
        for (const auto& [tp, _] : g->offsets)
            if (tp.topic == topic) {
                writes.push_back({offset_key(id, tp), std::nullopt});
                gone.push_back(tp);
            }
        if (writes.empty() || write_locked(writes) != StorageErrc::none) continue;
        for (const auto& tp : gone) g->offsets.erase(tp);
    }
}

} // namespace gateway
