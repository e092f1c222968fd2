#!/usr/bin/env bash
# Build the Debian package from the tree, install it with dpkg -i on this
# machine, check it, purge it (docs/packaging.md).
#   tests/package/test_deb.sh SOURCE_DIR WORK_DIR
# Skips (exit 77) without dpkg-buildpackage/debhelper or without root,
# unless MLINE_PACKAGE_TEST=required (scripts/test.sh sets it: CI must run
# it). Refuses to touch a machine where meterline is installed otherwise.
set -euo pipefail
src=$(cd "$1" && pwd) work=$2
skip() {
	if [ "${MLINE_PACKAGE_TEST:-}" = required ]; then
		echo "FAIL: $*" >&2
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v dpkg-buildpackage >/dev/null || skip "no dpkg-buildpackage (apt-get install dpkg-dev)"
command -v dh >/dev/null || skip "no debhelper (apt-get install debhelper)"
[ "$(id -u)" -eq 0 ] || skip "dpkg -i needs root"
if dpkg-query -W -f='${Status}' meterline 2>/dev/null | grep -q installed; then
	skip "meterline is installed on this machine already; not touching it"
fi
[ ! -e /usr/bin/meterline ] && [ ! -e /etc/meterline ] ||
	skip "/usr/bin/meterline or /etc/meterline exists outside dpkg; not touching it"

rm -rf "$work"
mkdir -p "$work/tree"
# dpkg-buildpackage writes the .deb next to the tree: build a copy.
tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=node_modules \
	--exclude=./var -cf - . | tar -C "$work/tree" -xf -
echo "== dpkg-buildpackage -us -uc -b -J2"
(cd "$work/tree" && dpkg-buildpackage -us -uc -b -J2) >"$work/build.log" 2>&1 ||
	{ tail -40 "$work/build.log" >&2; fail "dpkg-buildpackage failed ($work/build.log)"; }
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
deb=$(ls "$work"/meterline_"$version"_*.deb)
echo "built $(basename "$deb")"

cleanup() { dpkg --purge meterline >/dev/null 2>&1 || true; }
trap cleanup EXIT
echo "== dpkg -i"
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fail "dpkg -i"; }

for f in /usr/bin/meterline /etc/meterline/meterline.conf \
	/lib/systemd/system/meterline.service \
	/usr/share/man/man1/meterline.1.gz /usr/share/man/man5/meterline.conf.5.gz; do
	[ -e "$f" ] || fail "missing $f"
done
dpkg-query -W -f='${Conffiles}\n' meterline | grep -q '^ /etc/meterline/meterline.conf ' ||
	fail "/etc/meterline/meterline.conf is not a conffile"
getent passwd meterline | grep -q ':/nonexistent:/usr/sbin/nologin$' ||
	fail "no system user meterline with no home and no shell: $(getent passwd meterline)"
uid=$(id -u meterline)
[ "$uid" -lt 1000 ] || fail "meterline is not a system user (uid $uid)"
[ "$(stat -c %U:%G:%a /etc/meterline/meterline.conf)" = root:meterline:640 ] ||
	fail "config is $(stat -c %U:%G:%a /etc/meterline/meterline.conf), want root:meterline:640"
got=$(/usr/bin/meterline --version)
[ "$got" = "meterline ${version%%-*}" ] || fail "--version says '$got', want 'meterline ${version%%-*}'"
echo "$got"
# The service user can load the installed config (defaults, all commented).
runuser -u meterline -- /usr/bin/meterline parse "ПС 123859 11638" >/dev/null ||
	fail "meterline parse as the service user"
unit=/lib/systemd/system/meterline.service
for k in User=meterline ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes \
	ProtectHome=yes 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'; do
	grep -qx "$k" "$unit" || fail "unit lacks $k"
done
if command -v systemd-analyze >/dev/null; then
	# Works without a running systemd: parses the unit, checks ExecStart.
	SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$unit" ||
		fail "systemd-analyze verify $unit"
	echo "systemd-analyze verify: unit ok"
fi

echo "== dpkg --purge"
dpkg --purge meterline >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "purge"; }
trap - EXIT
for f in /usr/bin/meterline /etc/meterline /lib/systemd/system/meterline.service; do
	[ ! -e "$f" ] || fail "$f left after purge"
done
echo "PASS: package built, installed, checked and purged"
