// Sockets on 127.0.0.1 for tests that need a real peer.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace testing_support {

// A TCP socket bound to 127.0.0.1 on a free port (listening, when `listen` is set); `address` gets
// where.  Throws when the system refuses.
inline int bound_loopback_socket(sockaddr_in& address, bool listen = true) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), len) != 0 || (listen && ::listen(fd, 8) != 0) ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &len) != 0) {
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("cannot set up a loopback socket");
    }
    return fd;
}

} // namespace testing_support
