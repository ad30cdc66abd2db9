#!/usr/bin/env bash
# package_deb: scripts/package builds the .deb from this tree, lintian finds no error, and the
# package holds what it must and installs. The .deb stays in $HASPOOL_BINARY_DIR/package/ for
# the tests that require the ctest fixture haspool_deb.
#   1. scripts/package --out BINARY_DIR/package --lintian: exit 0, no E: line, the path printed
#   2. dpkg-deb -c: every file (binary, units, conffile, modules-load, man pages, completion,
#      the mail alert, docs, each lab file with its executable bit); -f: Depends, Suggests
#      (msmtp); -I: conffiles
#   3. the files themselves (dpkg-deb -x): the binary runs, the man pages render without warnings
#      and name every option the binary prints and every key the loader accepts, the completion
#      completes, the lab files are the tree's and name no unpackaged $HASPOOL_SOURCE_DIR path
#   4. a real install, cheaply: dpkg -i in a chroot that is an overlay of this host's / (its
#      dpkg database and the dependencies already installed; writes go to a tmpfs, mounts live in
#      a private mount namespace), then `haspool drill` from the package's lab, remove, purge
source "$HASPOOL_SOURCE_DIR/tests/lib.sh"
requires_root   # the chroot install
requires dpkg-deb lintian readelf man python3 unshare setpriv
out=$HASPOOL_BINARY_DIR/package
src=$HASPOOL_SOURCE_DIR

# ---- 1. build it ----------------------------------------------------------------------------
log "scripts/package --out $out --lintian (a Release build in $out/build)"
run_capture package "$src/scripts/package" --out "$out" --lintian
[ "$rc" = 0 ] || fail "scripts/package exited $rc: $(grep -v '^\[' "$T_DIR/package.err" | tail -30)"
deb=$(tail -1 "$T_DIR/package.out")
[ -f "$deb" ] || fail "the last line of scripts/package's stdout is not the .deb: '$deb'"
version=$(sed -n 's/^project(haspool VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "$(basename "$deb")" = "haspool_${version}_$(dpkg --print-architecture).deb" ] || fail "unexpected name $deb (version $version)"
grep -E '^E: ' "$T_DIR/package.err" && fail "lintian reports errors (above)"
grep -q '^package: lintian' "$T_DIR/package.err" || fail "scripts/package --lintian did not run lintian"
log "$(basename "$deb"): $(stat -c %s "$deb") bytes; lintian: $(grep -cE '^[WI]: ' "$T_DIR/package.err") W/I hint(s), 0 errors"

# ---- 2. the archive's listing and control fields --------------------------------------------
dpkg-deb -c "$deb" | awk '{ sub(/^\.\//, "/", $6); print $1, $6 }' >"$T_DIR/list"
has() {  # has MODE-PREFIX PATH: the .deb holds PATH with a mode starting with MODE-PREFIX
    grep -qE "^$1[^ ]* $2\$" "$T_DIR/list" || fail "the .deb lacks $2 (mode $1...): $(grep -F "$2" "$T_DIR/list")"
}
has -rwxr-xr-x /usr/sbin/haspool
has -rw-r--r-- /lib/systemd/system/haspool-primary.service
has -rw-r--r-- /lib/systemd/system/haspool-standby.service
has -rw-r--r-- /etc/haspool/haspool.yaml
has -rw-r--r-- /usr/lib/modules-load.d/haspool.conf
has -rw-r--r-- /usr/lib/systemd/catalog/haspool.catalog
has -rw-r--r-- /usr/share/man/man8/haspool.8.gz
has -rw-r--r-- /usr/share/man/man5/haspool.yaml.5.gz
has -rw-r--r-- /usr/share/bash-completion/completions/haspool
has -rwxr-xr-x /usr/libexec/haspool/haspool-mail-alert
for f in copyright changelog.gz README.md README.Debian; do has -rw-r--r-- "/usr/share/doc/haspool/$f"; done
for f in "$src"/docs/*.md; do has -rw-r--r-- "/usr/share/doc/haspool/docs/$(basename "$f")"; done
lab_list=$out/build/package-files/lab-files.txt
[ -s "$lab_list" ] || fail "no lab file list at $lab_list"
nlab=0
while read -r f; do
    if [ -x "$src/$f" ]; then has -rwxr-xr-x "/usr/share/haspool/lab/$f"; else has -rw-r--r-- "/usr/share/haspool/lab/$f"; fi
    nlab=$((nlab + 1))
done <"$lab_list"
for f in scripts/drill scripts/vm/build-image scripts/vm/guest-init tests/lib.sh tests/vm/lib_vm.sh; do
    grep -qxF "$f" "$lab_list" || fail "the lab list lacks $f, which the drill runs"
done
log "listing: all files present, $nlab lab file(s) with their modes"

depends=$(dpkg-deb -f "$deb" Depends)
depends_names=$(sed 's/([^)]*)//g; s/,/\n/g' <<<"$depends" | tr -d ' ')  # one package name a line
for p in mdadm e2fsprogs mount kmod; do
    grep -qxF "$p" <<<"$depends_names" || fail "Depends lacks $p: $depends"
done
suggests=$(dpkg-deb -f "$deb" Suggests)
grep -qxF msmtp <<<"$(sed 's/([^)]*)//g; s/,/\n/g' <<<"$suggests" | tr -d ' ')" ||
    fail "Suggests lacks msmtp, which haspool-mail-alert sends with: $suggests"
dpkg-deb -I "$deb" conffiles >"$T_DIR/conffiles" || fail "the .deb has no conffiles control file"
grep -qx /etc/haspool/haspool.yaml "$T_DIR/conffiles" || fail "conffiles lacks /etc/haspool/haspool.yaml: $(cat "$T_DIR/conffiles")"
# what the package needs at run time is what `install-deps --runtime` installs
runtime=$("$src/scripts/install-deps" --runtime --print)
for p in $depends_names; do
    grep -qxF "$p" <<<"$runtime" || fail "Depends names $p, which scripts/install-deps --runtime lacks"
done

# ---- 3. the files ---------------------------------------------------------------------------
x=$T_DIR/x
dpkg-deb -x "$deb" "$x"
hs=$x/usr/sbin/haspool
# every library the binary links comes from a package in Depends (dpkg-shlibdeps did its job)
for lib in $(readelf -d "$hs" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ { print $NF; exit }')
    [ -n "$path" ] || fail "cannot find $lib on this host"
    owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
    [ -n "$owner" ] || owner=$(dpkg -S "$path" | head -1 | cut -d: -f1)
    grep -qxF "$owner" <<<"$depends_names" || fail "$lib is $owner's, which Depends lacks: $depends"
done
run_capture version "$hs" --version
expect_rc 0 version
expect_in version out "haspool $version"
cmp -s "$x/etc/haspool/haspool.yaml" "$src/config/haspool.example.yaml" || fail "the conffile is not config/haspool.example.yaml"
cmp -s "$x/usr/libexec/haspool/haspool-mail-alert" "$src/scripts/notify/haspool-mail-alert" ||
    fail "/usr/libexec/haspool/haspool-mail-alert is not scripts/notify/haspool-mail-alert"
run_capture mailalert "$x/usr/libexec/haspool/haspool-mail-alert" --help
expect_rc 0 mailalert
expect_in mailalert out "--smarthost HOST[:PORT]"
grep -qx nbd "$x/usr/lib/modules-load.d/haspool.conf" || fail "modules-load.d/haspool.conf does not load nbd"
for page in usr/share/man/man8/haspool.8.gz usr/share/man/man5/haspool.yaml.5.gz; do
    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$x/$page" >"$T_DIR/page.txt" 2>"$T_DIR/page.err"
    [ ! -s "$T_DIR/page.err" ] || fail "man --warnings -l $page: $(cat "$T_DIR/page.err")"
    [ "$(wc -l <"$T_DIR/page.txt")" -gt 100 ] || fail "$page renders to less than 100 lines"
done
zcat "$x/usr/share/doc/haspool/changelog.gz" | head -1 | grep -q "^haspool ($version) " || fail "changelog.gz's first entry is not $version"

# The man pages against the binary and the loader: every command, debug subcommand and option
# that `--help` prints is in haspool(8), every key config_loader.cpp accepts in haspool.yaml(5),
# under its section.
python3 - "$hs" "$x/usr/share/man" "$src/config/config_loader.cpp" <<'PY' || fail "the man pages miss what the binary or the loader has (above)"
import gzip, re, subprocess, sys
hs, man, loader = sys.argv[1:]
def page(name):
    return gzip.open(f"{man}/{name}", "rt").read().replace("\\-", "-")
def helptext(*args):
    return subprocess.run([hs, *args, "--help"], capture_output=True, text=True, check=True).stdout
def words(text):  # "  name   description" lines before the option table
    out = []
    for line in text.splitlines():
        if line.startswith(("Options:", "Global options:")):
            break
        m = re.match(r"^  ([a-z][a-z-]*)  +\S", line)
        if m:
            out.append(m.group(1))
    return out
def options(text):
    opts = set(re.findall(r"^  (?:-[a-zA-Z] \[ )?(--[a-z0-9-]+)", text, re.M))
    usage = next((l for l in text.splitlines() if l.startswith("Usage:")), "")
    return opts | set(re.findall(r"--[a-z0-9-]+", usage))
p8, missing = page("man8/haspool.8.gz"), []
for cmd in words(helptext()):
    if not re.search(rf"^\.SS {re.escape(cmd)}$", p8, re.M):
        missing.append(f"haspool(8): no section for command {cmd}")
    texts = [(cmd, helptext(cmd))]
    if cmd == "debug":
        for sub in words(texts[0][1]):
            if not re.search(rf"^\.B {re.escape(sub)}\b", p8, re.M):
                missing.append(f"haspool(8): debug {sub} is not described")
            texts.append((f"debug {sub}", helptext("debug", sub)))
    for what, text in texts:
        for o in sorted(options(text)):
            if not re.search(rf"(?<![a-z0-9-]){re.escape(o)}(?![a-z0-9-])", p8):
                missing.append(f"haspool(8): {what} {o} is not named")
p5 = page("man5/haspool.yaml.5.gz")
sections = dict((m.group(1), m.group(2)) for m in re.finditer(r"^\.SH (\S+)\n(.*?)(?=^\.SH |\Z)", p5, re.M | re.S))
src = open(loader).read()
for m in re.finditer(r'check_keys\(\s*\w+,\s*("[a-z.]*"|p),\s*\{([^}]*)\}', src):
    where = "nodes" if m.group(1) == "p" else m.group(1).strip('"').split(".")[0]
    for key in re.findall(r'"([a-z_]+)"', m.group(2)):
        if where == "":
            if key.upper() not in sections:
                missing.append(f"haspool.yaml(5): no section {key.upper()}")
        elif not re.search(rf"^\.BR? {key}\b", sections.get(where.upper(), ""), re.M):
            missing.append(f"haspool.yaml(5): {where}: key {key} is not described")
for line in missing:
    print(line, file=sys.stderr)
sys.exit(1 if missing else 0)
PY

# the completion, as bash runs it: commands, a command's options, a FILE value, plan's flows
complete_words() {  # complete_words WORD...: COMPREPLY for the last word
    PATH=$x/usr/sbin:$PATH bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _haspool; echo "${COMPREPLY[*]}"' _ \
        "$x/usr/share/bash-completion/completions/haspool" "$@"
}
c=$(complete_words haspool "")
for w in primary standby check-config status plan export switchover failback resolve debug drill --version; do
    grep -qw -- "$w" <<<"$c" || fail "completion of 'haspool ' lacks $w: $c"
done
[ "$(complete_words haspool check-config --e)" = --etc-root ] || fail "completion of 'haspool check-config --e': $(complete_words haspool check-config --e)"
grep -qw raw-takeover <<<"$(complete_words haspool plan "")" || fail "completion of 'haspool plan ' lacks the flows"
grep -qw md-create <<<"$(complete_words haspool debug md)" || fail "completion of 'haspool debug md' lacks md-create"
(cd "$src" && [ "$(complete_words haspool status -c config/haspool.ex)" = config/haspool.example.yaml ]) ||
    fail "completion of a --config FILE value does not complete the file name"

# the lab: the tree's files, and every $HASPOOL_SOURCE_DIR/... they name is packaged too
lab=$x/usr/share/haspool/lab
while read -r f; do cmp -s "$src/$f" "$lab/$f" || fail "lab file $f differs from the tree's"; done <"$lab_list"
grep -rhoE '\$\{?HASPOOL_SOURCE_DIR\}?/[A-Za-z0-9_./-]+' "$lab" | sed -E 's/^\$\{?HASPOOL_SOURCE_DIR\}?\///; s/[.]$//' | sort -u >"$T_DIR/named"
# scripts/package is the one path a lab script tests for (`[ -x ... ]`) before it runs it: the
# drill builds the package in a source tree and needs --deb FILE from the installed lab
grep -q '\[ -x "\$HASPOOL_SOURCE_DIR/scripts/package" \]' "$lab/scripts/drill" ||
    fail "scripts/drill no longer tests for scripts/package before it runs it"
sed -i '/^scripts\/package$/d' "$T_DIR/named"
while read -r f; do
    [ -e "$lab/$f" ] || fail "the lab's scripts use \$HASPOOL_SOURCE_DIR/$f, which is not packaged (add it to HASPOOL_LAB_FILES in scripts/debian/package.cmake)"
done <"$T_DIR/named"
log "files: binary runs, man pages render and cover $(wc -l <"$T_DIR/named") lab path(s) named, completion works"

# ---- 4. install it for real in an overlay chroot --------------------------------------------
log "dpkg -i in an overlay chroot of / (writes to a tmpfs, private mount namespace)"
cat >"$T_DIR/chroot.sh" <<'SH'
set -eu
T=$1 deb=$2 src=$3
root=$T/root
mkdir -p "$T/ovl" "$root"
mount -t tmpfs -o size=1g tmpfs "$T/ovl"
mkdir -p "$T/ovl/upper" "$T/ovl/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/ovl/upper,workdir=$T/ovl/work" "$root"
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount -t tmpfs tmpfs "$root/tmp"
mount -t tmpfs tmpfs "$root/run"   # no /run/systemd/system: the postinst must cope without systemd
# hide this tree: the binary must find the drill in the package's lab, not in the tree it was
# built from (HASPOOL_BUILT_FROM). Its mount point may be missing in the chroot: a tree under
# /tmp or /run lies below the fresh tmpfs just mounted there.
mkdir -p "$root$src"
mount -t tmpfs tmpfs "$root$src"
cp "$deb" "$root/tmp/haspool.deb"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"; }
echo "== dpkg -i"
in_root dpkg -i /tmp/haspool.deb
echo "== status"
in_root dpkg-query -W -f='${Status} ${Version}\n' haspool
in_root dpkg-query -W -f='${Conffiles}\n' haspool
in_root haspool --version
in_root systemctl is-enabled haspool-primary.service 2>&1 || true
echo "== man"
in_root man -w haspool
in_root man -w 5 haspool.yaml
echo "== drill"
in_root haspool drill --help | tail -3
# as nobody: the lab's scripts/drill runs, sources its tests/lib.sh from the lab, and stops at
# requires_root (exit 77): the lookup and the installed paths work without a source tree
rc=0
chroot --userspec=65534:65534 "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp haspool drill || rc=$?
echo "drill as nobody: exit $rc"
echo "== remove"
mkdir -p "$root/var/lib/haspool" "$root/var/cache/haspool/vm"
echo keep >"$root/var/lib/haspool/node-state"
in_root dpkg -r haspool
echo "binary after remove: $(test -e "$root/usr/sbin/haspool" && echo present || echo absent)"
echo "conffile after remove: $(test -e "$root/etc/haspool/haspool.yaml" && echo present || echo absent)"
echo "== purge"
in_root dpkg -P haspool
echo "conffile after purge: $(test -e "$root/etc/haspool/haspool.yaml" && echo present || echo absent)"
echo "state after purge: $(cat "$root/var/lib/haspool/node-state" 2>/dev/null || echo absent)"
echo "cache after purge: $(test -e "$root/var/cache/haspool" && echo present || echo absent)"
SH
run_capture chroot unshare --mount --propagation private bash "$T_DIR/chroot.sh" "$T_DIR" "$deb" "$src"
[ "$rc" = 0 ] || fail "the chroot install failed (exit $rc): $(tail -30 "$T_DIR/chroot.out"; tail -30 "$T_DIR/chroot.err")"
for want in "install ok installed $version" "/etc/haspool/haspool.yaml " "haspool $version" \
    "/usr/share/man/man8/haspool.8.gz" "/usr/share/man/man5/haspool.yaml.5.gz" \
    "/usr/share/haspool/lab" "drill as nobody: exit 77" \
    "binary after remove: absent" "conffile after remove: present" \
    "conffile after purge: absent" "state after purge: keep" "cache after purge: absent"; do
    expect_in chroot out "$want"
done
grep -q 'SKIP: needs root' "$T_DIR/chroot.err" || fail "the installed drill did not reach the lab's tests/lib.sh: $(tail -5 "$T_DIR/chroot.err")"
grep -q '^enabled' "$T_DIR/chroot.out" && fail "installing enabled a unit: $(cat "$T_DIR/chroot.out")"
sed 's/^/    /' "$T_DIR/chroot.out" >&2
log "chroot: installed (conffile registered), drill found in the lab, removed (conffile kept), purged (state kept, cache gone)"
log "ok"
