#pragma once
// Sends one message over SMTP (EHLO, MAIL, RCPT, DATA, QUIT) and says whether the server
// accepted it with a 250 after the final "." — the moment a mail server takes responsibility.
#include <chrono>
#include <cstdint>
#include <string>

namespace haspool::mail {

struct SendRequest {
    std::string host;  // numeric address
    uint16_t port = 25;
    std::string helo = "localhost";
    std::string from;
    std::string to;
    std::string body;  // headers + body, "\n" line ends
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds io_timeout{10000};  // per reply
};

struct SendResult {
    bool accepted = false;
    std::string stage;   // connect, greeting, EHLO, MAIL, RCPT, DATA, message, QUIT
    std::string detail;  // the server's last reply or the error
};

SendResult smtp_send(const SendRequest& r);

}  // namespace haspool::mail
