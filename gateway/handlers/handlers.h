// One file per API in this directory, each registering itself with the versions it serves.
#pragma once

#include "runtime/dispatcher.h"

namespace gateway {

class Broker;

void register_api_versions(kafka::Dispatcher& d, Broker& b);
void register_metadata(kafka::Dispatcher& d, Broker& b);
void register_produce(kafka::Dispatcher& d, Broker& b);
void register_fetch(kafka::Dispatcher& d, Broker& b);
void register_list_offsets(kafka::Dispatcher& d, Broker& b);
void register_init_producer_id(kafka::Dispatcher& d, Broker& b);
void register_create_topics(kafka::Dispatcher& d, Broker& b);
void register_delete_topics(kafka::Dispatcher& d, Broker& b);
void register_describe_cluster(kafka::Dispatcher& d, Broker& b);
void register_describe_configs(kafka::Dispatcher& d, Broker& b);
void register_create_partitions(kafka::Dispatcher& d, Broker& b);
void register_find_coordinator(kafka::Dispatcher& d, Broker& b);
void register_join_group(kafka::Dispatcher& d, Broker& b);
void register_sync_group(kafka::Dispatcher& d, Broker& b);
void register_heartbeat(kafka::Dispatcher& d, Broker& b);
void register_leave_group(kafka::Dispatcher& d, Broker& b);
void register_describe_groups(kafka::Dispatcher& d, Broker& b);
void register_list_groups(kafka::Dispatcher& d, Broker& b);
void register_delete_groups(kafka::Dispatcher& d, Broker& b);
void register_offset_commit(kafka::Dispatcher& d, Broker& b);
void register_offset_fetch(kafka::Dispatcher& d, Broker& b);
void register_offset_delete(kafka::Dispatcher& d, Broker& b);

inline void register_all_handlers(kafka::Dispatcher& d, Broker& b) {
    register_api_versions(d, b);
    register_metadata(d, b);
    register_produce(d, b);
    register_fetch(d, b);
    register_list_offsets(d, b);
    register_init_producer_id(d, b);
    register_create_topics(d, b);
    register_delete_topics(d, b);
    register_describe_cluster(d, b);
    register_describe_configs(d, b);
    register_create_partitions(d, b);
    register_find_coordinator(d, b);
    register_join_group(d, b);
    register_sync_group(d, b);
    register_heartbeat(d, b);
    register_leave_group(d, b);
    register_describe_groups(d, b);
    register_list_groups(d, b);
    register_delete_groups(d, b);
    register_offset_commit(d, b);
    register_offset_fetch(d, b);
    register_offset_delete(d, b);
}

// Answers an exchange from whichever thread finished it (a group barrier, a timer); a client that is
// gone gets nothing, but the connection's books are closed.
template<typename Response>
void respond_if_open(const kafka::ExchangePtr& ex, const Response& response) {
    if (ex->connection_open()) ex->respond(response);
    else ex->respond_none();
}

} // namespace gateway
