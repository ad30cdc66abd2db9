// The drill's SMTP pieces: the server session (RFC 5321 subset), line splitting, reply parsing,
// dot-stuffing both ways, and the durable maildir store.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../temp_dir.hpp"
#include "agent/lab/line_buffer.hpp"
#include "agent/lab/smtp_reply.hpp"
#include "agent/lab/smtp_session.hpp"
#include "agent/lab/spool_store.hpp"

using namespace haspool::mail;

namespace {

struct Recorder {
    std::vector<std::pair<Envelope, std::string>> stored;
    std::string fail_with;
    Deliver deliver() {
        return [this](const Envelope& e, const std::string& d) -> Delivered {
            if (!fail_with.empty()) return {fail_with, ""};
            stored.emplace_back(e, d);
            return {"", "id" + std::to_string(stored.size())};
        };
    }
};

// The first reply line's code for one input line.
int code_of(SmtpSession& s, const std::string& line) {
    SessionOutput o = s.on_line(line);
    REQUIRE(!o.lines.empty());
    return std::stoi(o.lines.back().substr(0, 3));
}

void greet_and_envelope(SmtpSession& s) {
    REQUIRE(code_of(s, "EHLO client.example") == 250);
    REQUIRE(code_of(s, "MAIL FROM:<a@example.org>") == 250);
    REQUIRE(code_of(s, "RCPT TO:<b@example.org>") == 250);
    REQUIRE(code_of(s, "DATA") == 354);
}

}  // namespace

TEST_CASE("smtp session: a whole transaction is stored, dot-unstuffed, before the 250") {
    Recorder r;
    SmtpSession s("mx", r.deliver(), 1 << 20);
    CHECK(s.greeting().rfind("220 mx ", 0) == 0);
    SessionOutput ehlo = s.on_line("EHLO client.example");
    REQUIRE(ehlo.lines.size() == 4);
    CHECK(ehlo.lines[0] == "250-mx greets client.example");
    CHECK(ehlo.lines[3].rfind("250 ", 0) == 0);
    CHECK(code_of(s, "MAIL FROM:<a@example.org> SIZE=100") == 250);
    CHECK(code_of(s, "RCPT TO:<b@example.org>") == 250);
    CHECK(code_of(s, "rcpt to: <c@example.org>") == 250);
    CHECK(code_of(s, "DATA") == 354);
    CHECK(s.on_line("Subject: x").lines.empty());
    CHECK(s.on_line("..leading dot").lines.empty());
    CHECK(s.on_line("").lines.empty());
    CHECK(r.stored.empty());
    SessionOutput end = s.on_line(".");
    REQUIRE(end.lines.size() == 1);
    CHECK(end.lines[0] == "250 2.0.0 Ok: stored as id1");
    REQUIRE(r.stored.size() == 1);
    CHECK(r.stored[0].first.helo == "client.example");
    CHECK(r.stored[0].first.mail_from == "a@example.org");
    CHECK(r.stored[0].first.rcpt_to == std::vector<std::string>{"b@example.org", "c@example.org"});
    CHECK(r.stored[0].second == "Subject: x\n.leading dot\n\n");
    // the transaction is over: a new one needs MAIL again; QUIT closes
    CHECK(code_of(s, "RCPT TO:<b@example.org>") == 503);
    SessionOutput q = s.on_line("QUIT");
    CHECK(q.lines[0].rfind("221 ", 0) == 0);
    CHECK(q.close);
}

TEST_CASE("smtp session: a store that fails answers 451, never 250") {
    Recorder r;
    r.fail_with = "fsync of /spool/tmp/x: Input/output error";
    SmtpSession s("mx", r.deliver(), 1 << 20);
    greet_and_envelope(s);
    s.on_line("body");
    SessionOutput end = s.on_line(".");
    CHECK(end.lines[0] == "451 4.3.0 Cannot store the message: fsync of /spool/tmp/x: Input/output error");
}

TEST_CASE("smtp session: commands out of order and bad syntax get the RFC's codes") {
    Recorder r;
    SmtpSession s("mx", r.deliver(), 1 << 20);
    CHECK(code_of(s, "MAIL FROM:<a@x>") == 503);  // no EHLO yet
    CHECK(code_of(s, "EHLO") == 501);
    CHECK(code_of(s, "HELO c") == 250);
    CHECK(code_of(s, "RCPT TO:<b@x>") == 503);
    CHECK(code_of(s, "DATA") == 503);
    CHECK(code_of(s, "MAIL FROM:a@x") == 501);
    CHECK(code_of(s, "MAIL FROM:<a@x") == 501);
    CHECK(code_of(s, "MAIL TO:<a@x>") == 501);
    CHECK(code_of(s, "MAIL FROM:<>") == 250);  // the null sender (bounces)
    CHECK(code_of(s, "MAIL FROM:<a@x>") == 503);  // nested
    CHECK(code_of(s, "DATA") == 554);  // no recipients
    CHECK(code_of(s, "RCPT TO:<>") == 501);
    CHECK(code_of(s, "RCPT TO:<@relay.example:b@x>") == 250);  // source route ignored
    CHECK(code_of(s, "DATA now") == 501);
    CHECK(code_of(s, "RSET") == 250);
    CHECK(code_of(s, "DATA") == 503);
    CHECK(code_of(s, "NOOP") == 250);
    CHECK(code_of(s, "VRFY b") == 252);
    CHECK(code_of(s, "") == 500);
    CHECK(code_of(s, "TURN") == 500);
    CHECK(code_of(s, std::string(600, 'A')) == 500);
    CHECK(s.on_line_too_long().lines[0].rfind("500 ", 0) == 0);
    CHECK(r.stored.empty());
}

TEST_CASE("smtp session: size limits are enforced at MAIL and at the end of DATA") {
    Recorder r;
    SmtpSession s("mx", r.deliver(), 16);
    REQUIRE(code_of(s, "EHLO c") == 250);
    CHECK(code_of(s, "MAIL FROM:<a@x> SIZE=17") == 552);
    greet_and_envelope(s);
    s.on_line("0123456789");
    s.on_line("0123456789");
    CHECK(code_of(s, ".") == 552);
    greet_and_envelope(s);
    s.on_line_too_long();
    CHECK(code_of(s, ".") == 500);
    CHECK(r.stored.empty());
}

TEST_CASE("smtp: path arguments and SIZE parameters") {
    CHECK(parse_path_arg("<a@b>").path == "a@b");
    CHECK(parse_path_arg(" <a@b> SIZE=5 BODY=8BITMIME").params == "SIZE=5 BODY=8BITMIME");
    CHECK_FALSE(parse_path_arg("<a b@c>").ok);
    CHECK_FALSE(parse_path_arg("<a@b>SIZE=1").ok);
    CHECK(size_param("BODY=8BITMIME size=42") == 42);
    CHECK(size_param("SIZE=4x") == -1);
    CHECK(size_param("") == -1);
}

TEST_CASE("line buffer: CRLF and LF, split anywhere, overlong lines reported once") {
    LineBuffer b(8);
    b.append("HEL");
    CHECK(b.next().kind == LineBuffer::Kind::none);
    b.append("O x\r\nNOOP\nQU");
    auto l1 = b.next();
    CHECK(l1.kind == LineBuffer::Kind::line);
    CHECK(l1.line == "HELO x");
    CHECK(b.next().line == "NOOP");
    CHECK(b.next().kind == LineBuffer::Kind::none);
    b.append("IT\r\n0123456789ab");
    CHECK(b.next().line == "QUIT");
    CHECK(b.next().kind == LineBuffer::Kind::too_long);
    b.append("cdef");
    CHECK(b.next().kind == LineBuffer::Kind::none);
    b.append("gh\r\nok\r\n");
    CHECK(b.next().line == "ok");
}

TEST_CASE("smtp client side: reply lines and dot-stuffing") {
    ReplyLine r = parse_reply_line("250-mx greets c");
    CHECK(r.ok);
    CHECK(r.code == 250);
    CHECK_FALSE(r.last);
    CHECK(parse_reply_line("221 bye").last);
    CHECK(parse_reply_line("354").ok);
    CHECK_FALSE(parse_reply_line("25").ok);
    CHECK_FALSE(parse_reply_line("650 x").ok);
    CHECK_FALSE(parse_reply_line("250x").ok);
    CHECK(dot_stuff("a\n.b\n..c") == "a\r\n..b\r\n...c\r\n.\r\n");
    CHECK(dot_stuff("") == ".\r\n");
    // what the client stuffs, the server unstuffs to the same text
    Recorder rec;
    SmtpSession s("mx", rec.deliver(), 1 << 20);
    greet_and_envelope(s);
    std::string wire = dot_stuff("x\n.\n..y\n");
    std::istringstream in(wire);
    std::string line;
    while (std::getline(in, line)) s.on_line(line.substr(0, line.size() - 1));
    REQUIRE(rec.stored.size() == 1);
    CHECK(rec.stored[0].second == "x\n.\n..y\n");
}

TEST_CASE("spool store: messages land in new/ with their envelope, tmp/ is left empty") {
    haspool::test::TempDir tmp;
    const std::string dir = (tmp.path / "mail").string();
    REQUIRE(SpoolStore::prepare(dir).empty());
    REQUIRE(SpoolStore::prepare(dir).empty());  // idempotent
    SpoolStore st(dir, "mx");
    Envelope e{"c", "a@x", {"b@x"}};
    Delivered d1 = st.store(e, "Subject: 1\n");
    Delivered d2 = st.store(e, "Subject: 2\n");
    REQUIRE(d1.error.empty());
    REQUIRE(d2.error.empty());
    CHECK(d1.id != d2.id);
    std::ifstream f(dir + "/new/" + d1.id);
    std::stringstream ss;
    ss << f.rdbuf();
    CHECK(ss.str() == "Return-Path: <a@x>\nX-Haspool-Envelope-To: <b@x>\nSubject: 1\n");
    CHECK(std::filesystem::is_empty(dir + "/tmp"));
    // a spool that is a file, not a directory, is refused with the path in the message
    CHECK(SpoolStore::prepare(tmp.write("file", "x").string()).find("is not a directory") != std::string::npos);
    SpoolStore broken((tmp.path / "missing").string(), "mx");
    CHECK(broken.store(e, "x").error.find("cannot create") != std::string::npos);
}
