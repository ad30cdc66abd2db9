# Shared by the two-daemon integration tests (source it after tests/lib.sh; it skips without
# root, ip or python3; HASPOOL_KEEP_LOGS=DIR keeps the daemons' logs and configs there):
# namespaces $NA (alpha) and $NB (beta) joined by two veth pairs (heartbeat paths "replication"
# and "service", TEST-NET addresses), a shared secret, $T_DIR/alpha.yaml and $T_DIR/beta.yaml
# (PAIR_UNITS, PAIR_EXTRA_YAML, PAIR_NBD_EXTRA and PAIR_DEAD_MS adjust them), and helpers to read a daemon's status and log.
requires_root
requires ip python3
[ -n "${HASPOOL_KEEP_LOGS:-}" ] && defer cp -r "$T_DIR/." "$HASPOOL_KEEP_LOGS"
INTERVAL_MS=200
DEAD_MS=${PAIR_DEAD_MS:-1000}
NA=hpa$$; NB=hpb$$
ip netns add "$NA" || skip "cannot create network namespaces"
defer ip netns del "$NA"
ip netns add "$NB"
defer ip netns del "$NB"
# replication path: 192.0.2.0/24, service path: 198.51.100.0/24 (RFC 5737)
ip link add vr-a netns "$NA" type veth peer name vr-b netns "$NB"
ip link add vs-a netns "$NA" type veth peer name vs-b netns "$NB"
ip -n "$NA" addr add 192.0.2.1/24 dev vr-a
ip -n "$NB" addr add 192.0.2.2/24 dev vr-b
ip -n "$NA" addr add 198.51.100.11/24 dev vs-a
ip -n "$NB" addr add 198.51.100.12/24 dev vs-b
for ns in "$NA" "$NB"; do ip -n "$ns" link set lo up; done
ip -n "$NA" link set vr-a up; ip -n "$NA" link set vs-a up
ip -n "$NB" link set vr-b up; ip -n "$NB" link set vs-b up

head -c 32 /dev/urandom >"$T_DIR/secret"; chmod 600 "$T_DIR/secret"
# One cluster file; each node's copy differs only in where its state and socket live (both
# "hosts" share this test's filesystem).
config() {  # config NODE
    cat <<YAML
cluster:
  name: mailspool
  secret_file: $T_DIR/secret
  state_dir: $T_DIR/state-$1
  control_socket: $T_DIR/$1.sock
nodes:
  - name: alpha
    role: primary
    spool_device: /dev/vdb
    service_interface: vs-a
    addresses: {replication: 192.0.2.1, service: 198.51.100.11}
  - name: beta
    role: standby
    spool_device: $T_DIR/y.img
    service_interface: vs-b
    addresses: {replication: 192.0.2.2, service: 198.51.100.12}
heartbeat:
  interval_ms: $INTERVAL_MS
  dead_after_ms: $DEAD_MS
  stable_after_ms: 400
nbd:
  dead_conn_timeout_ms: 1000
${PAIR_NBD_EXTRA:-}
service:
  address: 198.51.100.25/24
  units: ${PAIR_UNITS:-[postfix.service]}
${PAIR_EXTRA_YAML:-}
YAML
}
truncate -s 8M "$T_DIR/y.img"  # beta's Y: its embedded NBD server exports a file as well
config alpha >"$T_DIR/alpha.yaml"
config beta >"$T_DIR/beta.yaml"
"$HASPOOL" check-config --config "$T_DIR/beta.yaml" >/dev/null || fail "generated config is invalid"

status() { "$HASPOOL" status --config "$T_DIR/$1.yaml" 2>&1; }
status_has() { status "$1" | grep -qF -- "$2"; }
log_has() { grep -qF -- "$2" "$T_DIR/$1.log"; }
# write_state NODE GENERATION "ANCESTORS" REASON: a node-state file as haspool writes it.
write_state() {
    mkdir -p -m 700 "$T_DIR/state-$1"
    python3 - "$T_DIR/state-$1/node-state" "$1" "$2" "$3" "$4" <<'PY'
import hashlib, sys
path, node, gen, anc, why = sys.argv[1:]
body = f"haspool-node-state 1\nnode {node}\ngeneration {gen}\nancestors {anc}\nhistory {gen} {node} 0 {why}\n"
open(path, "w").write(body + "sha256 " + hashlib.sha256(body.encode()).hexdigest() + "\n")
PY
}

# pair_start [WRAP]: beta (its state: mirrored with alpha before, as after adopting alpha's first
# generation) and a fresh alpha (--init), until both hear each other on both paths. With WRAP,
# each daemon runs as `WRAP NODE CMD...`.
pair_start() {
    local wrap=${1:-}
    write_state beta 2 0 "adopted: mirrored with alpha"
    start_bg beta ${wrap:+"$wrap" beta} ip netns exec "$NB" "$HASPOOL" standby --config "$T_DIR/beta.yaml" --node beta
    start_bg alpha ${wrap:+"$wrap" alpha} ip netns exec "$NA" "$HASPOOL" primary --config "$T_DIR/alpha.yaml" --node alpha --init
    wait_for 15 status_has beta "standby beta: EXPORTING"
    local node
    for node in alpha beta; do
        wait_for 15 status_has "$node" "path replication: up,"
        wait_for 15 status_has "$node" "path service: up,"
    done
}
status_json() { "$HASPOOL" status --config "$T_DIR/$1.yaml" --json; }
# status_check NODE PYTHON_EXPR...: every expression holds on one `status --json` sample of
# NODE, with s = the status, paths = its paths by name, dropped = its drop counts, offset = the
# peer's clock offset (ms or None); else it says which and fails (returns 1).
status_check() {
    local node=$1; shift
    status_json "$node" | python3 -c '
import json, sys
s = json.load(sys.stdin)
paths = {p["name"]: p for p in s["peer"]["paths"]}
dropped = s["dropped"]
offset = s["peer"].get("clock_offset_ms")
for expr in sys.argv[1:]:
    if not eval(expr):
        sys.exit("%s does not hold: %s" % (expr, json.dumps(s)))
' "$@"
}
