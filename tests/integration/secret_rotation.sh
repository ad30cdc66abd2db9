#!/usr/bin/env bash
# Rotating the shared secret (issue 14 item 7), two real daemons in namespaces (lib_pair.sh).
#   1. The claim: a plain swap of cluster.secret_file, reloaded on alpha first, cuts the
#      heartbeats until beta reloads too (beta drops alpha's datagrams as signed with a key it
#      does not hold, and its paths go down).
#   2. The procedure (docs/agent.md "Rotating the shared secret"): alpha reloads with
#      cluster.secret_file_next, then beta; then alpha promotes the new key to secret_file
#      (no next), then beta. A sampler reads `haspool status --json` of both nodes every 0.2 s
#      throughout: no path ever goes down and no datagram is dropped for authentication
#      (unknown-key, bad-hmac). Both sign with the new key once both hold it; at the end
#      neither reports a rotation any more.
source "$(dirname "$0")/../lib.sh"

PAIR_UNITS="[]"
PAIR_DEAD_MS=5000  # the plain swap's gap must not end in a takeover: that is not what this tests
source "$(dirname "$0")/lib_pair.sh"
SETTLE=2   # seconds between two reloads: several intervals, so a gap would show; the drop counters
           # are cumulative, so a rejection between two samples is seen all the same

# rewrite NODE SECRET [NEXT]: NODE's file with these key files; then SIGHUP and wait for it.
reloads() { grep -cF "reloaded $T_DIR/$1.yaml" "$T_DIR/$1.log"; }
reloads_above() { [ "$(reloads "$1")" -gt "$2" ]; }
rewrite() {
    local node=$1 secret=$2 next=${3:-} before pid
    config "$node" | sed "s|  secret_file: .*|  secret_file: $secret${next:+\n  secret_file_next: $next}|" >"$T_DIR/$node.yaml.new"
    "$HASPOOL" check-config --config "$T_DIR/$node.yaml.new" >/dev/null 2>&1 ||
        fail "generated config is invalid: $("$HASPOOL" check-config --config "$T_DIR/$node.yaml.new" 2>&1)"
    mv "$T_DIR/$node.yaml.new" "$T_DIR/$node.yaml"
    before=$(reloads "$node")
    pid=$(cat "$T_DIR/$node.pid")
    kill -HUP "$pid"
    wait_for 5 reloads_above "$node" "$before"
}
newkey() { head -c 32 /dev/urandom >"$1"; chmod 600 "$1"; }
auth_drops() {  # auth_drops NODE: unknown-key + bad-hmac so far
    status_json "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin)["dropped"]; print(d.get("unknown-key",0)+d.get("bad-hmac",0))'
}

pair_start

# 1. A plain swap, one host after the other: the gap the issue describes.
newkey "$T_DIR/secret2"
rewrite alpha "$T_DIR/secret2"
wait_for 5 status_has beta "path replication: down"
[ "$(auth_drops beta)" -gt 0 ] || fail "beta did not drop alpha's datagrams signed with the new key: $(status beta)"
log "plain swap: while only alpha reloaded, beta dropped $(auth_drops beta) datagram(s) and its paths went down: $(status beta | grep -F 'path replication')"
rewrite beta "$T_DIR/secret2"
for node in alpha beta; do
    wait_for 10 status_has "$node" "path replication: up,"
    wait_for 10 status_has "$node" "path service: up,"
done

# 2. The procedure, sampled throughout.
newkey "$T_DIR/secret3"
a0=$(auth_drops alpha); b0=$(auth_drops beta)
cat >"$T_DIR/sampler.py" <<'PY'
import json, os, subprocess, sys, time
haspool, tdir = sys.argv[1], sys.argv[2]
out = open(os.path.join(tdir, "samples"), "w")
while not os.path.exists(os.path.join(tdir, "sampler.stop")):
    for node in ("alpha", "beta"):
        r = subprocess.run([haspool, "status", "--config", os.path.join(tdir, node + ".yaml"), "--json"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            out.write(json.dumps({"node": node, "error": r.stderr.strip()}) + "\n")
            continue
        s = json.loads(r.stdout)
        d = s["dropped"]
        out.write(json.dumps({"node": node, "t": time.monotonic(),
                              "down": [p["name"] for p in s["peer"]["paths"] if not p["alive"]],
                              "auth": d.get("unknown-key", 0) + d.get("bad-hmac", 0),
                              "keys": s["keys"]}) + "\n")
    out.flush()
    time.sleep(0.2)
PY
start_bg sampler python3 "$T_DIR/sampler.py" "$HASPOOL" "$T_DIR"
sleep "$SETTLE"
rewrite alpha "$T_DIR/secret2" "$T_DIR/secret3"; sleep "$SETTLE"   # alpha: next key
rewrite beta "$T_DIR/secret2" "$T_DIR/secret3"; sleep "$SETTLE"    # beta: next key
for node in alpha beta; do
    status_has "$node" "keys: signing with the next key; next key set," ||
        fail "$node does not sign with the next key once both hold it: $(status "$node")"
done
rewrite alpha "$T_DIR/secret3"; sleep "$SETTLE"                    # alpha promotes
rewrite beta "$T_DIR/secret3"; sleep "$SETTLE"                     # beta promotes
touch "$T_DIR/sampler.stop"
wait_for 5 test -s "$T_DIR/samples"
sleep 0.5
python3 - "$T_DIR/samples" "$a0" "$b0" <<'PY' || fail "the rotation was not seamless (samples: $T_DIR/samples)"
import json, sys
path, base = sys.argv[1], {"alpha": int(sys.argv[2]), "beta": int(sys.argv[3])}
samples = [json.loads(l) for l in open(path)]
bad = [s for s in samples if "error" in s or s["down"] or s["auth"] != base[s["node"]]]
for s in bad[:10]:
    print("bad sample:", s, file=sys.stderr)
print("%d samples over the rotation, %d with a path down or an authentication drop" % (len(samples), len(bad)), file=sys.stderr)
sys.exit(1 if bad or len(samples) < 10 else 0)
PY
log "rotation: $(wc -l <"$T_DIR/samples") status samples of both nodes, every path up, no unknown-key/bad-hmac drop"
for node in alpha beta; do
    status_has "$node" "keys:" && fail "$node still reports a rotation: $(status "$node")"
    grep -qF "signing with the next key now" "$T_DIR/$node.log" || fail "$node never logged the switch to the next key"
done
log "ok"
