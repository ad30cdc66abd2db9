#!/usr/bin/env bash
# journald's catalog (scripts/debian/haspool.catalog) against the MESSAGE_IDs the daemon logs
# (agent/log/message_ids.hpp): the same IDs on both sides, and journalctl itself compiles the
# catalog (in a scratch root, as the package's trigger does on a host) and lists each ID with
# its subject.
source "$(dirname "$0")/../lib.sh"
requires journalctl
cat="$HASPOOL_SOURCE_DIR/scripts/debian/haspool.catalog"
ids_code=$(grep -oE '"[0-9a-f]{32}"' "$HASPOOL_SOURCE_DIR/agent/log/message_ids.hpp" | tr -d '"' | sort)
ids_cat=$(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$cat" | sort)
[ -n "$ids_code" ] || fail "no MESSAGE_IDs in message_ids.hpp"
[ "$ids_code" = "$ids_cat" ] || fail "message_ids.hpp and the catalog differ: code [$ids_code] catalog [$ids_cat]"
[ "$(uniq -d <<<"$ids_code")" = "" ] || fail "an ID is used twice: $(uniq -d <<<"$ids_code")"

root=$T_DIR/root
mkdir -p "$root/usr/lib/systemd/catalog" "$root/var/lib/systemd/catalog"
cp "$cat" "$root/usr/lib/systemd/catalog/"
run_capture update journalctl --root="$root" --update-catalog
expect_rc 0 update
[ -s "$root/var/lib/systemd/catalog/database" ] || fail "journalctl wrote no catalog database: $(cat "$T_DIR/update.err")"
run_capture list journalctl --root="$root" --list-catalog
expect_rc 0 list
for id in $ids_code; do
    grep -q "^$id haspool: " "$T_DIR/list.out" || fail "journalctl does not list $id with a haspool subject: $(cat "$T_DIR/list.out")"
done
log "ok: $(wc -l <"$T_DIR/list.out") entries compiled by journalctl"
