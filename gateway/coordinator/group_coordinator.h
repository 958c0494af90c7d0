// The group coordinator: Kafka's classic consumer group protocol (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, DescribeGroups, ListGroups, DeleteGroups) and committed offsets (OffsetCommit,
// OffsetFetch, OffsetDelete), kept durable in the storage engine's MetadataStore.
//
// The state machine follows Kafka's GroupCoordinator / GroupMetadata: Empty -> PreparingRebalance ->
// CompletingRebalance -> Stable, and Dead; join and sync barriers; session, rebalance, pending-member
// and pending-sync timeouts; the initial rebalance delay; MEMBER_ID_REQUIRED (KIP-394); static
// membership with fencing (KIP-345) and the v9 skip_assignment (KIP-814).
//
// Threads: one mutex guards every group.  Store writes keep the order the mutex decided them in
// (write_order.h).  The frequent ones are written after the mutex is released, and memory changes once
// they are done: OffsetCommit's offsets, the group record of a generation the leader's SyncGroup
// completes (the members get their assignments once it is stored, as Kafka answers them once its offsets
// topic holds the group), and that of a group left Empty.  So a slow store holds up only the requests
// waiting on those writes, not every group request.  The rare ones (a static member rejoining, group
// and offset deletion, expiry) still write under the mutex.  JoinGroup and SyncGroup answer later through their
// callback, run on the thread whose request or deadline completes the barrier, never with the mutex
// held.  Time comes from an injectable clock (milliseconds); advance() fires what is due, so tests
// drive everything with a fake clock.  start() runs a timer thread that loads the stored state, then
// calls advance() at each next deadline.  Until the state is loaded every API answers
// COORDINATOR_LOAD_IN_PROGRESS; after shutdown() NOT_COORDINATOR (pending joins and syncs too).
//
// Several gateways over one store (gateway/cluster/gateway_registry.h) each coordinate their share of
// the groups: set_ownership() names it.  A group no longer owned is dropped from memory at once (its
// state is in the store: offsets are written before a commit is answered, group metadata whenever a
// generation becomes Stable or the group Empty or Dead) and answers NOT_COORDINATOR, so its clients
// look the coordinator up again; a group gained is read from the store after a handover delay, which
// gives its previous coordinator time to see the change and stop, and answers
// COORDINATOR_LOAD_IN_PROGRESS until then.
#pragma once

#include "gateway/coordinator/group_options.h"
#include "gateway/coordinator/store_writer.h"
#include "gateway/coordinator/write_order.h"
#include "gateway/error_codes.h"
#include "gateway/storage/metadata_store.h"
#include "gateway/storage/storage_engine.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace gateway {

struct StoredOffset;   // group_records.h

enum class GroupState { empty, preparing_rebalance, completing_rebalance, stable, dead };
// Kafka's names: "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead".
const char* group_state_name(GroupState s);

struct GroupProtocol {
    std::string name;
    std::string metadata;
    friend bool operator==(const GroupProtocol&, const GroupProtocol&) = default;
};

struct JoinRequest {
    std::string group_id;
    std::string member_id;   // "" for a new member
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::string protocol_type;
    std::vector<GroupProtocol> protocols;
    bool require_known_member_id = false;    // JoinGroup v4+ without an instance id
    bool supports_skip_assignment = false;   // JoinGroup v9+
};

struct JoinedMember {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string metadata;
};

struct JoinResult {
    ErrorCode error = ErrorCode::none;
    int32_t generation_id = -1;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    std::string leader;
    bool skip_assignment = false;
    std::string member_id;
    std::vector<JoinedMember> members;   // the leader's only
};

struct SyncRequest {
    std::string group_id;
    int32_t generation_id = -1;
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::optional<std::string> protocol_type;   // v5+
    std::optional<std::string> protocol_name;   // v5+
    std::vector<std::pair<std::string, std::string>> assignments;   // member id, assignment (leader)
};

struct SyncResult {
    ErrorCode error = ErrorCode::none;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    std::string assignment;
};

struct HeartbeatRequest {
    std::string group_id;
    int32_t generation_id = -1;
    std::string member_id;
    std::optional<std::string> group_instance_id;
};

struct LeavingMember {
    std::string member_id;
    std::optional<std::string> group_instance_id;
};

struct LeaveResult {
    ErrorCode error = ErrorCode::none;   // the group's
    std::vector<ErrorCode> members;      // per leaving member, in request order
};

struct MemberDescription {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    std::string metadata;     // Stable groups only
    std::string assignment;   // Stable groups only
};

struct GroupDescription {
    ErrorCode error = ErrorCode::none;
    std::string group_id;
    std::string state;
    std::string protocol_type;
    std::string protocol;
    std::vector<MemberDescription> members;
};

struct GroupListing {
    std::string group_id;
    std::string protocol_type;
    std::string state;
};

struct ListGroupsResult {
    ErrorCode error = ErrorCode::none;
    std::vector<GroupListing> groups;
};

struct OffsetToCommit {
    TopicPartition tp;
    int64_t offset = 0;
    int32_t leader_epoch = -1;
    std::string metadata;
};

struct CommitRequest {
    std::string group_id;
    int32_t generation_id = -1;
    std::string member_id;
    std::optional<std::string> group_instance_id;
    int64_t retention_time_ms = -1;   // v2-4; -1: the broker's retention
    std::vector<OffsetToCommit> offsets;
};

struct CommittedOffset {
    TopicPartition tp;
    int64_t offset = -1;
    int32_t leader_epoch = -1;
    std::string metadata;
    ErrorCode error = ErrorCode::none;
};

struct OffsetFetchResult {
    ErrorCode error = ErrorCode::none;
    std::vector<CommittedOffset> offsets;
};

struct OffsetDeleteResult {
    ErrorCode error = ErrorCode::none;   // the group's; partitions empty when set
    std::vector<ErrorCode> partitions;   // in request order
};

// The Kafka error a failed metadata write means to a client of the coordinator.
ErrorCode coordinator_error(StorageErrc e);

class GroupCoordinator {
public:
    using NowMs = std::function<int64_t()>;
    using JoinCallback = std::function<void(const JoinResult&)>;
    using SyncCallback = std::function<void(const SyncResult&)>;
    using CommitCallback = std::function<void(std::vector<ErrorCode>)>;

    // Wall-clock milliseconds.
    static int64_t system_now_ms();

    GroupCoordinator(MetadataStore& store, GroupOptions options, NowMs now = system_now_ms);
    ~GroupCoordinator();
    GroupCoordinator(const GroupCoordinator&) = delete;
    GroupCoordinator& operator=(const GroupCoordinator&) = delete;

    // Loads the stored groups and offsets (blocking), then serves.  Tests call this; start() does it
    // on the timer thread.
    void load();
    // Starts the timer thread: load(), then advance() at each deadline.
    void start();
    // Stops the timer thread; answers pending joins and syncs with NOT_COORDINATOR; later calls are
    // answered NOT_COORDINATOR.  Idempotent.
    void shutdown();
    // True until the first load is done.
    bool loading() const;
    // True while this coordinator owns `group_id` but has not loaded it yet.
    bool loading(std::string_view group_id) const;

    // Which groups this coordinator serves; by default all of them.
    using Owns = std::function<bool(std::string_view group_id)>;
    // From now on serves only the groups `owns` accepts: drops those it no longer owns (waiting joins
    // and syncs are answered NOT_COORDINATOR), and loads those it gains from the store once the clock
    // reaches `load_at_ms` (the timer thread does, or a call to load()).
    void set_ownership(Owns owns, int64_t load_at_ms);

    // Fires every deadline due at the clock's now: session and pending-member expiry, join and sync
    // barriers' timeouts, the initial rebalance delay, offset retention.
    void advance();
    // Returns once the store writes queued so far (commits, group records) are made and their answers
    // given.  For tests, which drive the coordinator from one thread; not while holding the coordinator.
    void wait_for_store_writes() { writer_.wait_idle(); }
    // The earliest pending deadline (ms), if any.
    std::optional<int64_t> next_deadline() const;

    void join(JoinRequest request, JoinCallback done);
    void sync(SyncRequest request, SyncCallback done);
    ErrorCode heartbeat(const HeartbeatRequest& request);
    LeaveResult leave(const std::string& group_id, const std::vector<LeavingMember>& members);
    GroupDescription describe(const std::string& group_id);
    // states: Kafka state names to keep (empty: all), compared case-insensitively.
    ListGroupsResult list(const std::vector<std::string>& states);
    std::vector<ErrorCode> delete_groups(const std::vector<std::string>& group_ids);

    // Per offset, in request order, to `done`: at once when nothing is to be written, else once the store
    // has the offsets (on the store writer's completion thread; see store_writer.h), so no thread waits
    // on the store meanwhile.  Unknown topics are the caller's to refuse before calling.
    void commit(const CommitRequest& request, CommitCallback done);
    // The same, waiting for the answer (tests; never on a commit's own completion).
    std::vector<ErrorCode> commit(const CommitRequest& request);
    // partitions nullopt: every committed offset of the group.
    OffsetFetchResult fetch_offsets(const std::string& group_id,
                                    const std::optional<std::vector<TopicPartition>>& partitions);
    OffsetDeleteResult delete_offsets(const std::string& group_id, const std::vector<TopicPartition>& partitions);

    // Offsets of a deleted topic are dropped (cheap to do; Kafka does it too).
    void topic_deleted(const std::string& topic);

    struct Group;
    struct Member;

private:
    using Outbox = std::vector<std::function<void()>>;

    ErrorCode status_error(const std::string& group_id, bool empty_id_allowed) const;
    Group* find(const std::string& group_id);
    Group& create(const std::string& group_id);
    void erase_if_unused(Group& g);

    void join_new_member(Group& g, JoinRequest& req, JoinCallback& done, Outbox& out);
    void join_existing_member(Group& g, JoinRequest& req, JoinCallback& done, Outbox& out);
    void add_member_and_rebalance(Group& g, const std::string& member_id, JoinRequest& req, JoinCallback done,
                                  Outbox& out);
    void update_member_and_rebalance(Group& g, Member& m, JoinRequest& req, JoinCallback done, Outbox& out);
    void update_static_member(Group& g, const std::string& old_id, const std::string& new_id, JoinRequest& req,
                              JoinCallback done, Outbox& out);
    void maybe_prepare_rebalance(Group& g, Outbox& out);
    void prepare_rebalance(Group& g, Outbox& out);
    void try_complete_join(Group& g, Outbox& out);
    void complete_join(Group& g, Outbox& out);
    void remove_member_and_update_group(Group& g, const std::string& member_id, Outbox& out);
    void remove_member(Group& g, const std::string& member_id, Outbox& out);
    void remove_pending_member(Group& g, const std::string& member_id, Outbox& out);
    void propagate_assignment(Group& g, ErrorCode error, Outbox& out);
    void reset_and_propagate_assignment_error(Group& g, ErrorCode error, Outbox& out);
    void answer_join(Group& g, Member& m, JoinResult result, Outbox& out);
    void answer_sync(Member& m, SyncResult result, Outbox& out);
    void fail_waiting(Group& g, ErrorCode error, Outbox& out);
    JoinResult generation_result(const Group& g, const Member& m, bool with_members) const;
    void expire_offsets(Outbox& out);
    // Under mutex_: writes in line (see write_order.h); commits writing outside the mutex that these
    // writes overwrite leave memory alone (pending_commits_).
    StorageErrc write_locked(std::span<const MetadataWrite> writes);
    StorageErrc store_group(const Group& g);
    // Under mutex_: queues the group's record on the store writer (as commits are, so no request thread
    // waits on the store for it); then, on the writer's completion thread and under the mutex again, `then`
    // gets the result if the group is still at the same generation.
    using AfterStore = std::function<void(Group&, StorageErrc, Outbox&)>;
    void store_group_later(Group& g, AfterStore then);
    StorageErrc delete_group_records(Group& g);
    void applied_commit(const std::string& group_id, uint64_t ticket, const std::vector<std::string>& keys,
                        std::vector<std::pair<TopicPartition, StoredOffset>>& committed, StorageErrc e);
    void transition(Group& g, GroupState to);
    void schedule_session(Member& m, int64_t timeout_ms);
    std::string new_member_id(const std::string& prefix);
    void notify_timer();
    void timer_loop();
    std::optional<int64_t> next_deadline_locked() const;
    static void run(Outbox& out);

    MetadataStore& store_;
    const GroupOptions options_;
    const NowMs now_;
    int64_t time_ = 0;   // now_() at the start of the current operation

    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<Group>, std::less<>> groups_;
    bool loaded_ = false;   // the first load is done
    bool stopped_ = false;
    Owns owns_;                        // groups this coordinator is responsible for
    Owns serving_;                     // groups loaded and owned ever since
    std::optional<int64_t> load_at_;   // when the groups owned but not served are to be loaded
    uint64_t ownership_version_ = 0;
    int64_t next_retention_check_ = 0;
    uint64_t id_state_[2] = {0, 0};
    WriteOrder write_order_;
    // Offset keys with commits writing outside the mutex: the ticket of the last write decided for the
    // key (a commit's, or a deletion's) and how many commits are writing it.  A commit changes memory
    // after its write only when no later write was decided for the key meanwhile.
    struct PendingCommit {
        uint64_t latest = 0;
        int writing = 0;
        bool deleted = false;   // the latest write deletes the key
    };
    std::map<std::string, PendingCommit, std::less<>> pending_commits_;

    std::condition_variable timer_changed_;
    std::thread timer_;
    // Last: its threads end (and its completions, which use the members above, run) before the rest goes.
    StoreWriter writer_{write_order_, store_};
};

} // namespace gateway
