// kafka-gateway: a Kafka-protocol server whose storage is an embedded durable log (default) or
// SeaweedMQ.  SIGTERM/SIGINT: stop accepting, let in-flight requests finish, flush, exit 0.
#include "gateway/broker.h"
#include "gateway/config.h"
#include "runtime/log.h"
#include "runtime/server.h"

#include <csignal>
#include <cstdio>
#include <exception>
#include <pthread.h>

int main(int argc, char** argv) {
    gateway::Config config;
    try {
        switch (gateway::parse_command_line(argc, argv, config)) {
        case gateway::Action::help: std::fputs(gateway::usage().c_str(), stdout); return 0;
        case gateway::Action::version: std::printf("kafka-gateway %s\n", KGW_VERSION); return 0;
        case gateway::Action::run: break;
        }
    } catch (const gateway::ConfigError& e) {
        std::fprintf(stderr, "kafka-gateway: %s\n", e.what());
        return 2;
    }
    kafka::LogLevel level = kafka::LogLevel::info;
    kafka::parse_log_level(config.log_level, level);
    kafka::set_log_level(level);

    // Signals go to this thread alone (sigwait below); every thread started later inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    try {
        auto storage = gateway::StorageEngine::open(config.storage_url, config.storage);
        gateway::Broker broker(config, std::move(storage));
        kafka::Dispatcher dispatcher;
        broker.register_handlers(dispatcher);

        kafka::ServerOptions options;
        options.host = config.listen.host;
        options.port = config.listen.port;
        options.threads = config.threads;
        options.max_request_size = config.max_request_size;
        options.max_in_flight_bytes = config.max_in_flight_request_bytes;
        kafka::Server server(options, dispatcher);
        server.start();
        kafka::log_info("main", std::string("kafka-gateway ") + KGW_VERSION + " listening on " + config.listen.host +
                                    ":" + std::to_string(server.port()) + ", storage " + config.storage_url);

        int signal = 0;
        sigwait(&signals, &signal);
        kafka::log_info("main", std::string("received ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT") +
                                    ": stopping");
        broker.coordinator().shutdown();   // answers waiting joins and syncs, so the drain is quick
        server.stop();
        server.wait();
        broker.producers().shutdown();   // last producer snapshots, flushed with the rest
        broker.storage().flush();
        kafka::log_info("main", "stopped cleanly");
        return 0;
    } catch (const std::exception& e) {
        kafka::log_error("main", e.what());
        std::fprintf(stderr, "kafka-gateway: %s\n", e.what());
        return 1;
    }
}
