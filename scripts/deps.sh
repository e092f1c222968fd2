# Sourced by scripts/test.sh and scripts/demo.sh: install the Debian packages
# meterline needs, when they are missing and we may (root or sudo).

MLINE_DEPS="build-essential cmake pkg-config libpcre2-dev libinih-dev
libevent-dev libpq-dev libsmpp34-dev libjansson-dev libssl-dev libcurl4-openssl-dev libcmocka-dev
postgresql postgresql-client tzdata clang libclang-rt-14-dev curl openssl libnet-smpp-perl
nodejs kannel libsodium-dev libgd-dev chromium jq debhelper pgbouncer"
# Debian's npm; not where node comes with its own (NodeSource's nodejs
# bundles npm and conflicts with Debian's).
command -v npm >/dev/null || MLINE_DEPS="$MLINE_DEPS npm"

deps_install() {
	local missing=() p
	for p in $MLINE_DEPS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
			sudo="sudo -n"
		else
			echo "missing packages and no root/sudo: ${missing[*]}" >&2
			return 1
		fi
	fi
	echo "installing: ${missing[*]}" >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The npm packages of the tests, each pinned by its package-lock.json: the
# independent peer SMSC (tests/peers/smsc, docs/peers.md) and the console's
# browser tests (tests/browser, puppeteer-core; docs/console.md). `npm ci`
# when a node_modules is missing or older than its lockfile. Nothing
# without npm (those tests then skip).
deps_peers() {
	local root dir
	root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
	command -v npm >/dev/null || { echo "no npm: the peer SMSC and browser tests will skip" >&2; return 0; }
	for dir in "$root/tests/peers/smsc" "$root/tests/browser"; do
		if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
			echo "npm ci --prefix ${dir#"$root"/}" >&2
			npm ci --prefix "$dir" --no-audit --no-fund >/dev/null && touch "$dir/node_modules"
		fi
	done
}
