// Starts the real kafka-gateway binary (KGW_BINARY) for an end-to-end test: a free loopback port, a
// temporary data directory, stderr/stdout to a log file; SIGTERM must stop it with exit status 0.
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

extern char** environ;

namespace kgw_e2e {

// A port the kernel just handed out on 127.0.0.1 (closed again, so there is a small window in which
// someone else may take it; start() then falls back to another one).
inline uint16_t free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        socklen_t len = sizeof addr;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
}

inline bool loopback_port_accepts(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

class GatewayProcess {
public:
    // properties: lines for a --config file ("name=value"); none means no --config at all.
    explicit GatewayProcess(std::vector<std::string> properties = {}, int threads = 2)
        : properties_(std::move(properties)), threads_(threads) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "kgw-e2e-XXXXXX").string();
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (::mkdtemp(buf.data()) == nullptr) {
            ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
            return;
        }
        root_ = buf.data();
        data_dir_ = root_ / "data";
        log_path_ = root_ / "gateway.log";
        if (!properties_.empty()) {
            config_path_ = root_ / "gateway.properties";
            std::ofstream out(config_path_);
            for (const auto& line : properties_) out << line << "\n";
        }
    }

    GatewayProcess(const GatewayProcess&) = delete;
    GatewayProcess& operator=(const GatewayProcess&) = delete;

    ~GatewayProcess() {
        if (pid_ > 0) {
            int status = stop_process(SIGTERM, std::chrono::seconds(30));
            if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                ADD_FAILURE() << "gateway did not exit 0 on SIGTERM (" << describe_status(status) << ")\n"
                              << log_tail();
        }
        if (::testing::Test::HasFailure()) {
            std::fprintf(stderr, "---- gateway log (%s), last lines ----\n%s\n----\n", log_path_.c_str(),
                         log_tail().c_str());
            std::fprintf(stderr, "(keeping %s for inspection)\n", root_.c_str());
        } else if (!root_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(root_, ec);
        }
    }

    // Starts the binary and waits (bounded) until its port accepts connections.  Tries the previous
    // port first on a restart, then fresh ones if that cannot be bound.
    bool start() {
        if (pid_ > 0) {
            ADD_FAILURE() << "gateway already running";
            return false;
        }
        for (int attempt = 0; attempt < 5; ++attempt) {
            if (port_ == 0 || attempt > 0) port_ = free_loopback_port();
            if (port_ == 0) continue;
            if (spawn_and_wait()) return true;
        }
        ADD_FAILURE() << "gateway did not start listening\n" << log_tail();
        return false;
    }

    // SIGTERM and wait; returns true (and records a failure otherwise) when the exit status is 0.
    bool stop() {
        if (pid_ <= 0) return true;
        int status = stop_process(SIGTERM, std::chrono::seconds(60));
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok) ADD_FAILURE() << "gateway did not exit 0 on SIGTERM (" << describe_status(status) << ")\n" << log_tail();
        return ok;
    }

    // SIGKILL: no chance to flush anything that is not already durable.
    void kill9() {
        if (pid_ <= 0) return;
        int status = stop_process(SIGKILL, std::chrono::seconds(30));
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
            ADD_FAILURE() << "expected death by SIGKILL, got " << describe_status(status);
    }

    bool restart() { return stop() && start(); }
    bool restart_after_kill9() {
        kill9();
        return start();
    }

    uint16_t port() const { return port_; }
    std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
    const std::filesystem::path& data_dir() const { return data_dir_; }
    bool running() const { return pid_ > 0; }

    std::string log_tail(size_t max_bytes = 6000) const {
        std::ifstream in(log_path_, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string s = ss.str();
        return s.size() > max_bytes ? "..." + s.substr(s.size() - max_bytes) : s;
    }

private:
    static std::string describe_status(int status) {
        if (status == -1) return "no status (timed out or not a child)";
        if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
        if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
        return "status " + std::to_string(status);
    }

    bool spawn_and_wait() {
        std::vector<std::string> args = {KGW_BINARY,
                                         "--listen",
                                         bootstrap(),
                                         "--storage",
                                         "file://" + data_dir_.string(),
                                         "--threads",
                                         std::to_string(threads_)};
        if (!config_path_.empty()) {
            args.push_back("--config");
            args.push_back(config_path_.string());
        }
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        // The child starts with default signal dispositions and an empty mask, whatever librdkafka's
        // threads in this process have blocked.
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        pid_t pid = -1;
        int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        if (rc != 0) {
            ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
            return false;
        }
        pid_ = pid;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {   // exited early: most likely the port was taken
                pid_ = -1;
                std::fprintf(stderr, "gateway exited during start-up (%s) on port %u\n", describe_status(status).c_str(),
                             port_);
                return false;
            }
            if (loopback_port_accepts(port_)) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        stop_process(SIGKILL, std::chrono::seconds(10));
        return false;
    }

    // Sends sig and reaps the child, escalating to SIGKILL after timeout; returns the wait status.
    int stop_process(int sig, std::chrono::seconds timeout) {
        if (pid_ <= 0) return -1;
        ::kill(pid_, sig);
        auto deadline = std::chrono::steady_clock::now() + timeout;
        int status = -1;
        for (;;) {
            int s = 0;
            pid_t r = ::waitpid(pid_, &s, WNOHANG);
            if (r == pid_) {
                status = s;
                break;
            }
            if (r < 0 && errno != EINTR) break;
            if (std::chrono::steady_clock::now() >= deadline) {
                ADD_FAILURE() << "gateway pid " << pid_ << " ignored signal " << sig << " for " << timeout.count()
                              << "s; killing it";
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &s, 0);
                status = -1;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        pid_ = -1;
        return status;
    }

    std::vector<std::string> properties_;
    int threads_;
    std::filesystem::path root_, data_dir_, log_path_, config_path_;
    uint16_t port_ = 0;
    pid_t pid_ = -1;
};

} // namespace kgw_e2e
