#!/usr/bin/env bash
# Run PROGRAM with the system resolver answering 2 s late (docs/dns.md):
#   unshare -r -n -m bash slow_dns_netns.sh DIR PROGRAM [ARGS...]
# Inside fresh user, network and mount namespaces (no privileges needed
# where unprivileged user namespaces are allowed): loopback up,
# /etc/resolv.conf bind-mounted to "nameserver 127.0.0.1" and
# tests/peers/slow_dns.py on 127.0.0.1:53, so getaddrinfo (libcurl's
# threaded resolver, libpq) waits 2 s for every name. DIR takes the
# resolver's log; PROGRAM runs with MLINE_TEST_SLOW_DNS=1.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
shift
ip link set lo up
echo "nameserver 127.0.0.1" > "$dir/resolv.conf"
mount --bind "$dir/resolv.conf" /etc/resolv.conf
python3 "$here/slow_dns.py" --port 53 --delay 2 --log "$dir/dns-netns.log" 2>"$dir/dns-netns.err" &
p=$!
for i in $(seq 50); do grep -q listening "$dir/dns-netns.err" && break; sleep 0.1; done
rc=0
MLINE_TEST_SLOW_DNS=1 "$@" || rc=$?
kill $p
exit $rc
