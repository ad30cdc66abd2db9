#include "agent/store/node_state.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace haspool::agent {

namespace {

constexpr const char* kHeader = "haspool-node-state 1";

std::string sha256_hex(const std::string& s) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

bool parse_u64(const std::string& s, uint64_t& v) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19) return false;
    v = std::stoull(s);
    return true;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

NodeState NodeState::bumped(bool standby, const std::string& reason, int64_t unix_time) const {
    NodeState s = *this;
    s.lineage = lineage.bumped(standby);
    s.history.push_back({s.lineage.current, node, unix_time, reason});
    if (s.history.size() > kMaxHistory) s.history.erase(s.history.begin());
    return s;
}

NodeState NodeState::adopted(const Lineage& source, const std::string& reason, int64_t unix_time) const {
    NodeState s = *this;
    s.lineage = lineage.adopted(source);
    s.history.push_back({s.lineage.current, node, unix_time, "adopted: " + reason});
    if (s.history.size() > kMaxHistory) s.history.erase(s.history.begin());
    return s;
}

NodeState NodeState::discarded(const std::string& reason, int64_t unix_time) const {
    NodeState s = *this;
    s.lineage = lineage.discarded();
    s.history.push_back({s.lineage.current, node, unix_time,
                         "discarded generation " + to_string(lineage.current) + ": " + reason});
    if (s.history.size() > kMaxHistory) s.history.erase(s.history.begin());
    return s;
}

std::string serialize(const NodeState& s) {
    std::ostringstream o;
    o << kHeader << "\n";
    o << "node " << s.node << "\n";
    o << "generation " << s.lineage.current.value << "\n";
    o << "ancestors";
    for (auto a : s.lineage.ancestors) o << " " << a.value;
    o << "\n";
    for (const auto& h : s.history)
        o << "history " << h.generation.value << " " << h.node << " " << h.unix_time << " " << one_line(h.reason) << "\n";
    std::string body = o.str();
    return body + "sha256 " + sha256_hex(body) + "\n";
}

ParsedState parse_node_state(const std::string& text) {
    auto pos = text.rfind("sha256 ");
    if (pos == std::string::npos || (pos > 0 && text[pos - 1] != '\n'))
        return {std::nullopt, "no checksum line (the file is truncated or was not written by haspool)"};
    std::string body = text.substr(0, pos);
    std::string sum = text.substr(pos + 7);
    while (!sum.empty() && (sum.back() == '\n' || sum.back() == '\r')) sum.pop_back();
    if (sum != sha256_hex(body)) return {std::nullopt, "checksum mismatch (the file is damaged or was edited)"};
    std::istringstream in(body);
    std::string line;
    if (!std::getline(in, line) || line != kHeader) return {std::nullopt, "unknown header '" + line + "'"};
    NodeState s;
    bool have_gen = false;
    int n = 1;
    while (std::getline(in, line)) {
        ++n;
        std::istringstream w(line);
        std::string key;
        w >> key;
        if (key == "node") {
            w >> s.node;
        } else if (key == "generation") {
            std::string v;
            w >> v;
            if (!parse_u64(v, s.lineage.current.value)) return {std::nullopt, "line " + std::to_string(n) + ": bad generation"};
            have_gen = true;
        } else if (key == "ancestors") {
            std::string v;
            while (w >> v) {
                Generation g;
                if (!parse_u64(v, g.value)) return {std::nullopt, "line " + std::to_string(n) + ": bad ancestor"};
                s.lineage.ancestors.push_back(g);
            }
        } else if (key == "history") {
            HistoryEntry h;
            std::string g;
            w >> g >> h.node >> h.unix_time;
            if (!w || !parse_u64(g, h.generation.value)) return {std::nullopt, "line " + std::to_string(n) + ": bad history entry"};
            std::getline(w >> std::ws, h.reason);
            s.history.push_back(std::move(h));
        } else {
            return {std::nullopt, "line " + std::to_string(n) + ": unknown key '" + key + "'"};
        }
    }
    if (!have_gen || s.node.empty()) return {std::nullopt, "node or generation missing"};
    return {std::move(s), ""};
}

NodeStateStore::NodeStateStore(std::string state_dir, std::string node) : dir_(std::move(state_dir)), node_(std::move(node)) {}

NodeStateStore::Loaded NodeStateStore::load() const {
    Loaded l;
    std::ifstream in(path());
    if (!in) {
        l.missing = errno == ENOENT;
        l.error = l.missing
            ? path() + " does not exist: this node was never initialised. On a new cluster run 'haspool primary --init' "
                       "on the primary and 'haspool standby --init' on the standby; if the file was lost, restore it "
                       "from a backup or settle the data by hand ('haspool resolve')"
            : "cannot read " + path() + ": " + errno_text();
        return l;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    ParsedState p = parse_node_state(ss.str());
    if (!p.state) {
        l.error = path() + " is unusable: " + p.error +
                  "; nothing automatic will happen. Restore it from a backup or settle the data by hand "
                  "('haspool resolve'), then start again";
        return l;
    }
    if (p.state->node != node_) {
        l.error = path() + " belongs to node '" + p.state->node + "', not '" + node_ + "'";
        return l;
    }
    l.state = std::move(p.state);
    return l;
}

std::string write_file_durably(const std::string& dir, const std::string& name, const std::string& data) {
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return "cannot create " + dir + ": " + errno_text();
    const std::string path = dir + "/" + name;
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot create " + tmp + ": " + errno_text();
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            std::string e = "cannot write " + tmp + ": " + errno_text();
            ::close(fd);
            return e;
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        std::string e = "fsync " + tmp + ": " + errno_text();
        ::close(fd);
        return e;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return "cannot rename " + tmp + " to " + path + ": " + errno_text();
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return "cannot open " + dir + " to sync it: " + errno_text();
    int rc = ::fsync(dfd);
    std::string e = rc != 0 ? "fsync " + dir + ": " + errno_text() : "";
    ::close(dfd);
    return e;
}

std::string NodeStateStore::save(const NodeState& s) const { return write_file_durably(dir_, "node-state", serialize(s)); }

std::string NodeStateStore::initialise(bool standby, int64_t unix_time) const {
    struct stat st{};
    if (::stat(path().c_str(), &st) == 0)
        return path() + " already exists: this node is initialised (generation history kept); "
                        "--init is only for a node's first start";
    NodeState s;
    s.node = node_;
    if (standby) {
        s.lineage = Lineage{Generation::blank(), {}};
        s.history.push_back({Generation::blank(), node_, unix_time, "initialised (blank: holds no data yet)"});
    } else {
        s.lineage = Lineage{Generation::blank(), {}}.bumped(false);
        s.history.push_back({s.lineage.current, node_, unix_time, "initialised (the primary's disk is the first data)"});
    }
    return save(s);
}

}  // namespace haspool::agent
