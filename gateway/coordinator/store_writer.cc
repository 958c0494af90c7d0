#include "gateway/coordinator/store_writer.h"

#include "runtime/log.h"

#include <exception>
#include <string>

namespace gateway {

StoreWriter::StoreWriter(WriteOrder& order, MetadataStore& store)
  : order_(order), store_(store), writer_([this] { write_loop(); }), completer_([this] { complete_loop(); }) {}

StoreWriter::~StoreWriter() {
    stop();
    {
        std::lock_guard lock(mutex_);
        ending_ = true;
    }
    changed_.notify_all();
    writer_.join();
    completer_.join();
}

void StoreWriter::submit(WriteOrder::Ticket ticket, std::vector<MetadataWrite> writes, Done done) {
    {
        std::lock_guard lock(mutex_);
        to_write_.push_back(std::make_unique<Job>(submitted_++, std::move(ticket), std::move(writes), std::move(done)));
    }
    changed_.notify_all();
}

void StoreWriter::stop() {
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
    }
    changed_.notify_all();
}

void StoreWriter::write_loop() {
    for (;;) {
        std::unique_ptr<Job> job;
        bool write = false;
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return !to_write_.empty() || ending_; });
            if (to_write_.empty()) {
                writer_ended_ = true;
                break;
            }
            job = std::move(to_write_.front());
            to_write_.pop_front();
            write = !stopped_ && job->number >= failed_below_;
        }
        if (write) {
            try {
                job->result = order_.apply(job->ticket, store_, job->writes);
            } catch (const std::exception& e) {   // the ticket's turn was passed on all the same
                kafka::log_error("coordinator", std::string("a store write failed: ") + e.what());
                job->result = StorageErrc::storage_error;
            }
        } else {
            WriteOrder::Ticket dropped = std::move(job->ticket);   // its turn is skipped
        }
        {
            std::lock_guard lock(mutex_);
            if (write && job->result != StorageErrc::none) failed_below_ = submitted_;   // those queued meanwhile
            to_complete_.push_back(std::move(job));
        }
        changed_.notify_all();
    }
    changed_.notify_all();
}

void StoreWriter::complete_loop() {
    for (;;) {
        std::unique_ptr<Job> job;
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return !to_complete_.empty() || writer_ended_; });
            if (to_complete_.empty()) break;
            job = std::move(to_complete_.front());
            to_complete_.pop_front();
        }
        try {
            job->done(job->result);
        } catch (const std::exception& e) {
            kafka::log_error("coordinator", std::string("completing a store write failed: ") + e.what());
        }
        {
            std::lock_guard lock(mutex_);
            ++completed_;
        }
        changed_.notify_all();
    }
}

void StoreWriter::wait_idle() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return completed_ == submitted_; });
}

} // namespace gateway
