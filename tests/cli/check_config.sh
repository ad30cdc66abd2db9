#!/usr/bin/env bash
# haspool check-config as an operator runs it: the example is valid; a file with several
# mistakes prints each with its YAML path and exits 2; a missing file and a YAML syntax error
# are named with file (and line/column). On a node, the deployment checks (docs/actions.md
# "Deployment checks") run against a fake host: a tree under --etc-root, and fake postconf,
# postmulti and systemctl found through --probe-path.
source "$(dirname "$0")/../lib.sh"
EX="$HASPOOL_SOURCE_DIR/config/haspool.example.yaml"

run_capture example "$HASPOOL" check-config --config "$EX"
expect_rc 0 example
expect_in example out "primary alpha"
expect_in example out "standby beta"
expect_in example out "configuration is valid"

sed -e 's/interval_ms: 500/interval_ms: 200/' -e 's/dead_after_ms: 3000/dead_after_ms: 300/' \
    -e 's/^  port: 10809/  port: 99999/' -e 's/policy: manual/policy: sometimes/' \
    -e 's/^  name: mailspool/  name: mailspool\n  nmae: typo/' "$EX" >"$T_DIR/bad.yaml"
run_capture bad "$HASPOOL" check-config --config "$T_DIR/bad.yaml"
expect_rc 2 bad
expect_in bad err "heartbeat.dead_after_ms"
expect_in bad err "must be at least 3 × interval_ms (got 300 with interval 200)"
expect_in bad err "nbd.port"
expect_in bad err "failback.policy"
expect_in bad err "cluster.nmae"
expect_in bad err "did you mean 'name'?"

run_capture missing "$HASPOOL" check-config --config "$T_DIR/none.yaml"
expect_rc 2 missing
expect_in missing err "cannot read $T_DIR/none.yaml: No such file or directory"

printf 'cluster:\n  name: [oops\n' >"$T_DIR/syntax.yaml"
run_capture syntax "$HASPOOL" check-config --config "$T_DIR/syntax.yaml"
expect_rc 2 syntax
grep -qE "syntax.yaml:[0-9]+:[0-9]+: YAML syntax error" "$T_DIR/syntax.err" || fail "no file:line:col in: $(cat "$T_DIR/syntax.err")"

# As a named node, host-local checks run: the example's secret file does not exist here.
run_capture as_node "$HASPOOL" check-config --config "$EX" --node beta
expect_rc 2 as_node
expect_in as_node err "cluster.secret_file"

# A node with a proper secret file and device, on a fake host deployed as docs/actions.md says:
# Debian's /var/spool/mail -> ../mail, postfix's queue on the spool, the mail units disabled,
# mdadm.conf with AUTO -all, no fstab line for the spool, nbd loaded at boot by the package.
head -c 32 /dev/urandom >"$T_DIR/secret"; chmod 600 "$T_DIR/secret"
truncate -s 1M "$T_DIR/disk.img"
sed -e "s|/etc/haspool/secret|$T_DIR/secret|" -e "s|spool_device: /dev/vdb |spool_device: $T_DIR/disk.img |" "$EX" >"$T_DIR/ok.yaml"
grep -qF "units: [postfix@-.service, dovecot.service]" "$T_DIR/ok.yaml" || fail "the example's units changed: $(grep units: "$T_DIR/ok.yaml")"
R="$T_DIR/root"
mkdir -p "$R/etc/mdadm" "$R/var/mail" "$R/var/spool" "$R/usr/lib/modules-load.d" "$R/run/systemd/system" "$R/sys/module/nbd"
ln -s ../mail "$R/var/spool/mail"
echo "AUTO -all" >"$R/etc/mdadm/mdadm.conf"
fstab() { printf 'UUID=1111 / ext4 errors=remount-ro 0 1\n%s' "${1:+$1$'\n'}" >"$R/etc/fstab"; }
fstab
echo nbd >"$R/usr/lib/modules-load.d/haspool.conf"

# The fake tools answer from files the test writes: postconf (and postmulti) from
# $T_DIR/postconf.out, systemctl is-enabled from $T_DIR/units/UNIT, systemctl show
# --property=Type from $T_DIR/types/UNIT. Each logs its arguments to $T_DIR/calls. The probe's
# PATH is --probe-path alone, so they name other programs by their full path.
TOOLS="$T_DIR/tools"
mkdir -p "$TOOLS" "$T_DIR/units" "$T_DIR/types"
cat >"$TOOLS/postconf" <<FAKE
#!/bin/sh
echo "postconf \$*" >>"$T_DIR/calls"
/bin/cat "$T_DIR/postconf.out"
FAKE
cat >"$TOOLS/postmulti" <<FAKE
#!/bin/sh
echo "postmulti \$*" >>"$T_DIR/calls"
/bin/cat "$T_DIR/postconf.out"
FAKE
cat >"$TOOLS/systemctl" <<FAKE
#!/bin/sh
echo "systemctl \$*" >>"$T_DIR/calls"
case "\$1" in
is-enabled)
    state=\$(/bin/cat "$T_DIR/units/\$2" 2>/dev/null || echo not-found)
    echo "\$state"
    case "\$state" in
    enabled|enabled-runtime|static|alias|indirect|generated|transient) exit 0 ;;
    not-found) exit 4 ;;
    *) exit 1 ;;
    esac ;;
show) /bin/cat "$T_DIR/types/\$4" 2>/dev/null || echo simple ;;
*) echo "fake systemctl: \$*" >&2; exit 1 ;;
esac
FAKE
chmod +x "$TOOLS/postconf" "$TOOLS/postmulti" "$TOOLS/systemctl"
postconf_says() {  # postconf_says QUEUE_DIRECTORY MAIL_SPOOL_DIRECTORY
    printf 'queue_directory = %s\nmail_spool_directory = %s\nlocal_transport = local:mail-a\nmailbox_transport =\nmailbox_command =\nhome_mailbox =\n' \
        "$1" "$2" >"$T_DIR/postconf.out"
}
postconf_says /var/spool/mail/postfix /var/mail
# As on Debian: postfix.service and dovecot.service disabled; postfix@-.service is enabled-runtime
# whatever one does, since postfix-instance-generator links it into postfix.service.wants at boot.
echo enabled-runtime >"$T_DIR/units/postfix@-.service"
for u in dovecot.service postfix.service; do echo disabled >"$T_DIR/units/$u"; done
check() {  # check NAME [CONFIG]: check-config as node alpha (the primary) on the fake host
    : >"$T_DIR/calls"
    run_capture "$1" "$HASPOOL" check-config --config "${2:-$T_DIR/ok.yaml}" --node alpha --etc-root "$R" --probe-path "$TOOLS"
}

check ok
expect_rc 0 ok
expect_in ok out "this host is primary alpha"
expect_in ok out "configuration is valid"
# The example has no fence command: the loader's warning about it is the only line on stderr.
if grep -v "^warning: fence.command" "$T_DIR/ok.err"; then fail "a correct deployment printed the above"; fi
grep -qxF "postconf -x queue_directory mail_spool_directory local_transport mailbox_transport mailbox_command home_mailbox" \
    "$T_DIR/calls" || fail "postconf was not asked as expected: $(cat "$T_DIR/calls")"
for u in postfix@-.service dovecot.service postfix.service; do
    grep -qxF "systemctl is-enabled $u" "$T_DIR/calls" || fail "systemd was not asked about $u: $(cat "$T_DIR/calls")"
done

# The wrong deployment of issue 13: postfix's queue where Debian puts it, off the spool.
postconf_says /var/spool/postfix /var/mail
check queue_off
expect_rc 2 queue_off
expect_in queue_off err "ok.yaml: 1 problem on this host:"
expect_in queue_off err "service.units[0]: postfix@-.service queues mail in /var/spool/postfix (postconf queue_directory), outside the mirrored spool /var/spool/mail (which resolves to /var/mail): postfix acknowledges a message (250 after DATA) once it is in its queue, so every queued message would be lost at a failover"
expect_in queue_off err "postconf -e queue_directory=/var/spool/mail/postfix"
log "the wrong deployment, as check-config reports it (exit status 2):"
sed 's/^/    /' "$T_DIR/queue_off.out" "$T_DIR/queue_off.err" >&2
postconf_says /var/spool/mail/postfix /var/mail

# postconf missing while a postfix unit is configured.
mv "$TOOLS/postconf" "$T_DIR/postconf.away"
check no_postconf
expect_rc 2 no_postconf
expect_in no_postconf err "postfix@-.service is in service.units but postconf is not installed (not found in PATH=$TOOLS)"
mv "$T_DIR/postconf.away" "$TOOLS/postconf"

# postfix.service, Debian's oneshot wrapper, in service.units.
sed 's/units: \[postfix@-.service, dovecot.service\]/units: [postfix.service, dovecot.service]/' "$T_DIR/ok.yaml" >"$T_DIR/wrapper.yaml"
echo oneshot >"$T_DIR/types/postfix.service"
check wrapper "$T_DIR/wrapper.yaml"
expect_rc 2 wrapper
expect_in wrapper err "service.units[0]: postfix.service is a wrapper around postfix@-.service (Type=oneshot) that reports success even when postfix itself fails to start"

# Mail units enabled at boot: the unit itself, and the wrapper that pulls the instance in.
echo enabled >"$T_DIR/units/dovecot.service"
check enabled
expect_rc 2 enabled
expect_in enabled err "service.units[1]: dovecot.service is enabled at boot (systemctl is-enabled: enabled)"
expect_in enabled err "Run: systemctl disable dovecot.service"
echo disabled >"$T_DIR/units/dovecot.service"
echo enabled >"$T_DIR/units/postfix.service"
check wrapper_enabled
expect_rc 2 wrapper_enabled
expect_in wrapper_enabled err "postfix.service is enabled at boot (systemctl is-enabled: enabled) and pulls in postfix@-.service"
echo masked >"$T_DIR/units/postfix.service"
check wrapper_masked
expect_rc 0 wrapper_masked
echo disabled >"$T_DIR/units/postfix.service"

# Without systemd running, the unit states are not asked; a note says so.
rmdir "$R/run/systemd/system"
check no_systemd
expect_rc 0 no_systemd
expect_in no_systemd out "note: service.units: systemd is not running on this host (no /run/systemd/system)"
if grep -q '^systemctl' "$T_DIR/calls"; then fail "systemctl was asked without systemd: $(cat "$T_DIR/calls")"; fi
mkdir "$R/run/systemd/system"

# fstab mounting the spool through Debian's symlink: /var/mail is /var/spool/mail.
fstab "/dev/sdb1 /var/mail ext4 defaults 0 2"
check fstab_link
expect_rc 2 fstab_link
expect_in fstab_link err "spool.mount_point: $R/etc/fstab line 2 would mount the spool at boot: '/dev/sdb1 /var/mail' mounts on spool.mount_point /var/spool/mail (both resolve to /var/mail)"
fstab "/dev/sdb1 /var/mail ext4 noauto 0 0"
check fstab_noauto
expect_rc 0 fstab_noauto
fstab

# nbd not loaded at boot: a warning that carries on. First the package's file masked by an
# empty file of the same name in /etc, then nothing at all.
mkdir -p "$R/etc/modules-load.d"; : >"$R/etc/modules-load.d/haspool.conf"
check nbd_masked
expect_rc 0 nbd_masked
expect_in nbd_masked err "warning: nbd: the nbd module is loaded now, but nothing loads it at boot (/etc/modules-load.d/haspool.conf masks /usr/lib/modules-load.d/haspool.conf, which lists nbd"
rm "$R/etc/modules-load.d/haspool.conf" "$R/usr/lib/modules-load.d/haspool.conf"; rmdir "$R/sys/module/nbd"
check nbd_missing
expect_rc 0 nbd_missing
expect_in nbd_missing err "warning: nbd: the nbd module is not loaded, and nothing loads it at boot"
expect_in nbd_missing err "run modprobe nbd and add a line 'nbd' to /etc/modules-load.d/haspool.conf"
expect_in nbd_missing out "configuration is valid"
echo nbd >"$R/usr/lib/modules-load.d/haspool.conf"

# The secret file's mode is still checked.
chmod 644 "$T_DIR/secret"
check open
expect_rc 2 open
expect_in open err "accessible by group or others (mode 0644)"
log "ok"
