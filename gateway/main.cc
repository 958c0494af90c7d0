// kafka-gateway: a Kafka-protocol server whose storage is an embedded log or SeaweedMQ.
// Until the runtime lands it only answers --version and --help.
#include <cstdio>
#include <cstring>

#ifndef KGW_VERSION
#define KGW_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--version") == 0) {
            std::printf("kafka-gateway %s\n", KGW_VERSION);
            return 0;
        }
        if (std::strcmp(argv[i], "--help") == 0) {
            std::printf("usage: kafka-gateway [--version] [--help]\n");
            return 0;
        }
        std::fprintf(stderr, "kafka-gateway: unknown option %s (try --help)\n", argv[i]);
        return 2;
    }
    std::printf("kafka-gateway %s: the codec layer is built; the server arrives with the runtime issue.\n",
                KGW_VERSION);
    return 0;
}
