# Sourced by scripts/test.sh and scripts/demo.sh: install the Debian packages
# meterline needs, when they are missing and we may (root or sudo).

MLINE_DEPS="build-essential cmake pkg-config libpcre2-dev libinih-dev
libevent-dev libpq-dev libsmpp34-dev libjansson-dev libssl-dev libcmocka-dev
postgresql postgresql-client tzdata clang libclang-rt-14-dev curl openssl libnet-smpp-perl"

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
