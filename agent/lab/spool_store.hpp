#pragma once
// A durable mail spool in maildir layout (DIR/tmp, DIR/new): each message is written to tmp/,
// fsync'd, renamed into new/, and new/ is fsync'd — only then is it reported stored. So a
// message the SMTP receiver acknowledged survives a crash of the machine the instant after.
#include <atomic>
#include <string>

#include "agent/lab/smtp_session.hpp"

namespace haspool::mail {

class SpoolStore {
  public:
    // Creates DIR, DIR/tmp and DIR/new when missing (and fsyncs their parents); error text or "".
    static std::string prepare(const std::string& dir);

    SpoolStore(std::string dir, std::string hostname) : dir_(std::move(dir)), hostname_(std::move(hostname)) {}

    // Writes a Return-Path and an X-Haspool-Envelope-To header, then `data`.
    Delivered store(const Envelope& env, const std::string& data);

  private:
    std::string dir_;
    std::string hostname_;
    std::atomic<unsigned long> seq_{0};
};

}  // namespace haspool::mail
