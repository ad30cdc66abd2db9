#pragma once
// The outcome of one real-system action: done (with an optional note such as "already mounted"),
// or failed with one error sentence that carries its context (device, command, exit status,
// output tail). Library code returns these; the caller that decides logs once.
#include <string>
#include <utility>

namespace haspool::actions {

class [[nodiscard]] ActionResult {
public:
    static ActionResult done(std::string note = {}) { return ActionResult(true, std::move(note)); }
    static ActionResult failed(std::string error) { return ActionResult(false, std::move(error)); }

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    // On success: a short note ("already mounted", may be empty). On failure: the error sentence.
    const std::string& message() const { return message_; }

private:
    ActionResult(bool ok, std::string message) : ok_(ok), message_(std::move(message)) {}
    bool ok_;
    std::string message_;
};

}  // namespace haspool::actions
