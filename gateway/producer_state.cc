#include "gateway/producer_state.h"

#include <chrono>
#include <functional>

namespace gateway {

ProducerStates::ProducerStates()
  : next_id_(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count() *
             1000) {}

std::unique_lock<std::mutex> ProducerStates::lock(const TopicPartition& tp) {
    size_t h = std::hash<std::string>()(tp.topic) * 31 + static_cast<size_t>(tp.partition);
    return std::unique_lock(stripes_[h % stripes_.size()]);
}

ProducerStates::Verdict ProducerStates::check(const TopicPartition& tp, const ProducerBatch& b) const {
    std::lock_guard guard(map_mutex_);
    auto it = entries_.find({tp, b.producer_id});
    if (it == entries_.end()) return {};   // new producer here, or state lost in a restart
    const Entry& e = it->second;
    if (b.producer_epoch < e.epoch) return {ErrorCode::invalid_producer_epoch};
    if (b.producer_epoch > e.epoch)
        return b.first_sequence == 0 ? Verdict{} : Verdict{ErrorCode::out_of_order_sequence_number};
    for (const auto& r : e.recent)
        if (r.first == b.first_sequence && r.last == b.last_sequence) return {ErrorCode::none, true, r.base_offset};
    if (e.recent.empty()) return {};
    // Sequences wrap at INT32_MAX back to 0.
    const int32_t last = e.recent.back().last;
    const int32_t expected = last == INT32_MAX ? 0 : last + 1;
    if (b.first_sequence != expected) return {ErrorCode::out_of_order_sequence_number};
    return {};
}

void ProducerStates::record(const TopicPartition& tp, const ProducerBatch& b, int64_t base_offset) {
    std::lock_guard guard(map_mutex_);
    Entry& e = entries_[{tp, b.producer_id}];
    if (b.producer_epoch != e.epoch) {
        e.epoch = b.producer_epoch;
        e.recent.clear();
    }
    e.recent.push_back({b.first_sequence, b.last_sequence, base_offset});
    if (e.recent.size() > 5) e.recent.pop_front();
}

void ProducerStates::forget_topic(const std::string& topic) {
    std::lock_guard guard(map_mutex_);
    std::erase_if(entries_, [&](const auto& kv) { return kv.first.first.topic == topic; });
}

} // namespace gateway
