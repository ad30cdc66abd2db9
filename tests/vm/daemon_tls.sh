#!/usr/bin/env bash
# Issue 17 item 2: the mirror over an encrypted NBD link. With nbd.tls: required on both nodes,
# beta's export demands STARTTLS and the key derived from the cluster secret, and alpha runs the
# TLS handshake in userspace, installs the record keys into the socket (kernel TLS, the `tls`
# module) and only then hands it to the kernel's nbd driver. Checked: alpha reaches MIRRORED
# (the attach went through), its kernel holds TLS sockets in software mode for TX and RX
# (/proc/net/tls_stat), beta's export logged a TLS session, files written on alpha are
# byte-identical on Y, and a capture of alpha's side of the LAN carries the NBD greeting
# (NBDMAGIC: the capture works and saw the link) but never the marker the files are made of.
# In between, a link blip (ss -K on beta): the reconnect redoes the handshake and hands the
# kernel a new kTLS socket (NBD_CMD_RECONFIGURE), and writes go on without md degrading.
source "$(dirname "$0")/lib_vm.sh"

VM_NBD_EXTRA="  tls: required"
VM_NET_DUMP_NAME=alpha
marker="haspool-plaintext-marker-$RANDOM$RANDOM"

vm_build_image
vm_daemons_up
vm_wait_state beta EXPORTING 30

tls=$(vm_run alpha "cat /proc/net/tls_stat") || fail "alpha has no /proc/net/tls_stat (no tls module): $tls"
tx=$(awk '$1 == "TlsCurrTxSw" { print $2 }' <<<"$tls")
rx=$(awk '$1 == "TlsCurrRxSw" { print $2 }' <<<"$tls")
[ "${tx:-0}" -ge 1 ] && [ "${rx:-0}" -ge 1 ] ||
    fail "alpha's kernel holds no kTLS socket (TlsCurrTxSw=$tx TlsCurrRxSw=$rx): the NBD leg is not encrypted: $tls"
log "alpha's kernel: TlsCurrTxSw=$tx TlsCurrRxSw=$rx (the NBD socket the nbd driver uses is kTLS)"
vm_run beta "grep -q 'TLS' $VM_DAEMON_LOG" || fail "beta's export logged no TLS session: $(vm_daemon_log beta 40)"
log "beta: $(vm_run beta "grep -m1 'TLS' $VM_DAEMON_LOG" | cut -c1-200)"

# files made of the marker, fsync'd through md onto both legs
sums=$(vm_run alpha "set -e; for i in 1 2 3 4; do
        yes '$marker' | head -c 262144 >$SPOOL/marker.\$i; sync $SPOOL/marker.\$i
    done; sync; cd $SPOOL && sha256sum marker.*") || fail "writing the marker files on alpha: $sums"
# a link blip (issue 17 item 3): the export's end of the TLS connection destroyed on beta; alpha's
# daemon reconnects, redoing the TLS handshake, and hands the kernel a fresh kTLS socket
out=$(vm_run beta "ss -K -tn state established '( sport = :10809 )' 2>&1") || fail "ss -K on beta failed: $out"
grep -q 10809 <<<"$out" || fail "ss -K on beta destroyed no NBD connection: $out"
vm_run alpha -t 120 "for i in \$(seq 600); do grep -q 'step ReconnectNbd.*tls=required.*: ok' $VM_DAEMON_LOG && exit 0; sleep 0.1; done; exit 1" ||
    fail "alpha's daemon did not reconnect the TLS link: $(vm_daemon_log alpha 40)"
out=$(vm_run alpha "dmesg | grep -c 'nbd0: reconnected socket'")
[ "$out" -ge 1 ] || fail "the kernel did not log 'reconnected socket' for nbd0"
more=$(vm_run alpha "set -e; for i in 5 6; do
        yes '$marker' | head -c 262144 >$SPOOL/marker.\$i; sync $SPOOL/marker.\$i
    done; sync; cd $SPOOL && sha256sum marker.5 marker.6") || fail "writing after the reconnect: $more"
sums+=$'\n'$more
tls=$(vm_run alpha "cat /proc/net/tls_stat")
tx=$(awk '$1 == "TlsCurrTxSw" { print $2 }' <<<"$tls")
[ "${tx:-0}" -ge 1 ] || fail "after the reconnect alpha's kernel holds no kTLS socket: $tls"
log "link blip: alpha reconnected over TLS (kernel: 'reconnected socket', TlsCurrTxSw=$tx, TlsTxSw total $(awk '$1 == "TlsTxSw" { print $2 }' <<<"$tls")), 2 more files written"
st=$(vm_run alpha "haspool debug md-status --md $MD")
grep -qx "degraded=0" <<<"$st" || fail "md went degraded during the blip: $st"

vm_run alpha "sleep 6; haspool debug md-wait --md $MD --until clean --timeout 60 >/dev/null" ||
    fail "md not clean after the writes"

vm_daemon_stop alpha
vm_compare_legs
vm_daemon_stop beta
vm_check_files_on_y "$sums" 'marker.*'

vm_kill alpha  # QEMU writes the capture out as it goes; stop it before reading
pcap=$T_DIR/alpha.pcap
[ -s "$pcap" ] || fail "no capture of alpha's LAN traffic at $pcap"
grep -qa NBDMAGIC "$pcap" || fail "the capture ($(stat -c %s "$pcap") bytes) has no NBD greeting: it did not see the link"
if grep -qaF "$marker" "$pcap"; then
    fail "the marker crossed the LAN in plain text ($(grep -caF "$marker" "$pcap") matches in $pcap)"
fi
log "capture: $(stat -c %s "$pcap") bytes, the NBD greeting in it, the marker nowhere"
log "ok"
