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
}

} // namespace gateway
