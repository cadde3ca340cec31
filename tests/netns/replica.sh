#!/usr/bin/env bash
# A network-namespace replica of a DECNET host, for tests.
#
#   replica.sh up   PREFIX [DECKIES] [macvlan|ipvlan]
#   replica.sh down PREFIX
#   replica.sh addr PREFIX NAME      print the IPv4 address of host|attacker|d1..dN
#
# Everything lives in namespaces named PREFIX-*: nothing is created in the
# namespace the script is called from, apart from short-lived veth ends that
# are moved out at once.
#
#   PREFIX-atk (attacker)          PREFIX-host (the DECNET host)
#   eth0 10.213.0.66  <--veth-->  eth0 (parent NIC, no address)
#                                   |-- decnet_macvlan0 10.213.0.2 (host-side helper)
#                                   |-- macvlan child -> PREFIX-d1: eth0 10.213.0.11
#                                   |-- macvlan child -> PREFIX-d2: eth0 10.213.0.12
#                                   `-- ...
# IPv6 rides along: fd00:dec::/64 with the same host numbers.
set -euo pipefail

NET4=10.213.0
NET6=fd00:dec:
die() { echo "replica.sh: $*" >&2; exit 1; }

ns_exec() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

host_num() {
    case $1 in
        host) echo 2 ;;
        atk | attacker) echo 66 ;;
        d[0-9]*) echo $((10 + ${1#d})) ;;
        *) die "unknown node $1" ;;
    esac
}

up() {
    local p=$1 n=${2:-3} mode=${3:-macvlan}
    [ ${#p} -le 8 ] || die "prefix '$p' longer than 8 characters"
    down "$p" 2>/dev/null || true
    ip netns add "$p-host"
    ip netns add "$p-atk"
    for ns in "$p-host" "$p-atk"; do ns_exec "$ns" ip link set lo up; done

    # The wire between the attacker and the DECNET host's NIC.
    ip link add "${p}v0" type veth peer name "${p}v1"
    ip link set "${p}v0" netns "$p-host"
    ip link set "${p}v1" netns "$p-atk"
    ns_exec "$p-host" ip link set "${p}v0" name eth0
    ns_exec "$p-atk" ip link set "${p}v1" name eth0
    ns_exec "$p-host" ip link set eth0 up
    ns_exec "$p-atk" ip addr add "$NET4.66/24" dev eth0
    ns_exec "$p-atk" ip addr add "$NET6:66/64" dev eth0 nodad
    ns_exec "$p-atk" ip link set eth0 up

    local kind_args
    case $mode in
        macvlan) kind_args="type macvlan mode bridge" ;;
        ipvlan) kind_args="type ipvlan mode l2" ;;
        *) die "mode must be macvlan or ipvlan" ;;
    esac

    # DECNET's host-side helper: lets the host itself reach its deckies.
    # shellcheck disable=SC2086
    ns_exec "$p-host" ip link add link eth0 name "decnet_${mode}0" $kind_args
    ns_exec "$p-host" ip addr add "$NET4.2/24" dev "decnet_${mode}0"
    ns_exec "$p-host" ip addr add "$NET6:2/64" dev "decnet_${mode}0" nodad
    ns_exec "$p-host" ip link set "decnet_${mode}0" up

    local i
    for i in $(seq 1 "$n"); do
        local d="$p-d$i" num=$((10 + i))
        ip netns add "$d"
        ns_exec "$d" ip link set lo up
        # shellcheck disable=SC2086
        ns_exec "$p-host" ip link add link eth0 name "dk$i" $kind_args
        ns_exec "$p-host" ip link set "dk$i" netns "$d"
        ns_exec "$d" ip link set "dk$i" name eth0
        ns_exec "$d" ip addr add "$NET4.$num/24" dev eth0
        ns_exec "$d" ip addr add "$NET6:$num/64" dev eth0 nodad
        ns_exec "$d" ip link set eth0 up
    done
}

down() {
    local p=$1 ns
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^$p-(host|atk|d[0-9]+)$" || true); do
        # Kill whatever a test left running inside, then the namespace.
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns"
    done
}

case ${1:-} in
    up) shift; up "$@" ;;
    down) shift; down "$@" ;;
    addr) echo "$NET4.$(host_num "$3")" ;;
    addr6) echo "$NET6:$(host_num "$3")" ;;
    *) die "usage: replica.sh up|down|addr PREFIX ..." ;;
esac
