# Shared helpers for the capture scripts: throwaway network namespaces joined
# by a veth pair, background processes tracked by PID, and a cleanup that
# undoes everything (run it from an EXIT trap). Source this file; needs root.
#
# Addresses used only inside the namespaces created here: 10.77.0.0/24, fd77::/64.

set -euo pipefail

# Unique per run so that parallel runs (or other users of the machine) never clash.
NS_TAG="${NS_TAG:-$$}"
NS_LIST=()       # namespaces created by this run
BG_PIDS=()       # background processes started by this run
ETC_NETNS=()     # /etc/netns/<ns> directories created by this run (hosts files)
CAPTURE_PID=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "must run as root (network namespaces)" >&2
        exit 1
    fi
}

# apt_need PKG... : install the Debian packages that are missing.
apt_need() {
    local missing=()
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing: ${missing[*]}"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# ns_add NAME : create a namespace with loopback up.
ns_add() {
    ip netns add "$1"
    NS_LIST+=("$1")
    ip -n "$1" link set lo up
}

# nsx NS CMD... : run CMD inside namespace NS.
nsx() {
    local ns="$1"
    shift
    ip netns exec "$ns" "$@"
}

# veth_pair NS_A IF_A NS_B IF_B : a veth pair between two namespaces, offloads
# off so that segments on the wire are MTU-sized and checksums are real.
veth_pair() {
    local nsa="$1" ifa="$2" nsb="$3" ifb="$4"
    ip link add "$ifa" netns "$nsa" type veth peer name "$ifb" netns "$nsb"
    local pair
    for pair in "$nsa:$ifa" "$nsb:$ifb"; do
        local ns="${pair%%:*}" ifc="${pair#*:}"
        nsx "$ns" ethtool -K "$ifc" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
        nsx "$ns" ip link set "$ifc" up
    done
}

# addr NS IF CIDR : add an address (IPv6 without duplicate address detection
# so it is usable at once).
addr() {
    case "$3" in
        *:*) nsx "$1" ip -6 addr add "$3" dev "$2" nodad ;;
        *) nsx "$1" ip addr add "$3" dev "$2" ;;
    esac
}

# hosts_file NS LINE... : /etc/hosts seen by processes in NS (ip netns exec
# bind-mounts /etc/netns/NS/hosts over /etc/hosts).
hosts_file() {
    local ns="$1"
    shift
    mkdir -p "/etc/netns/$ns"
    ETC_NETNS+=("/etc/netns/$ns")
    {
        echo "127.0.0.1 localhost"
        printf '%s\n' "$@"
    } >"/etc/netns/$ns/hosts"
}

# bg NS CMD... : start CMD in NS in the background, remember its PID in BG_PID.
bg() {
    local ns="$1"
    shift
    ip netns exec "$ns" "$@" &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
}

# wait_port NS IP PORT : wait until something listens on IP:PORT inside NS.
wait_port() {
    local i
    for i in $(seq 1 100); do
        if nsx "$1" ss -Hltn "sport = :$3" 2>/dev/null | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    echo "nothing listens on $2:$3 in $1" >&2
    return 1
}

# capture_start NS IF FILE [FILTER...] : tcpdump writing every frame unbuffered.
capture_start() {
    local ns="$1" ifc="$2" file="$3"
    shift 3
    ip netns exec "$ns" tcpdump -i "$ifc" -s 0 -U --immediate-mode -n -w "$file" "$@" 2>>"${CAPTURE_LOG:-/dev/null}" &
    CAPTURE_PID=$!
    # tcpdump needs a moment before it sees packets.
    local i
    for i in $(seq 1 50); do
        [ -s "$file" ] && break
        sleep 0.1
    done
    sleep 0.3
}

# capture_stop : SIGINT to tcpdump by PID so that it flushes and closes the file.
capture_stop() {
    if [ -n "$CAPTURE_PID" ]; then
        sleep 0.5
        kill -INT "$CAPTURE_PID" 2>/dev/null || true
        wait "$CAPTURE_PID" 2>/dev/null || true
        CAPTURE_PID=""
    fi
}

# stop_pid PID : end one process that this run started.
stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

cleanup() {
    set +e
    capture_stop
    local p ns
    for p in "${BG_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    # Whatever is still running inside our own namespaces was started by this
    # run (e.g. Chromium's helper processes): end it by PID.
    for ns in "${NS_LIST[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            kill "$p" 2>/dev/null
        done
    done
    sleep 0.3
    for ns in "${NS_LIST[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            kill -9 "$p" 2>/dev/null
        done
    done
    for p in "${BG_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    for ns in "${NS_LIST[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    for p in "${ETC_NETNS[@]}"; do
        rm -rf "$p"
    done
    NS_LIST=()
    BG_PIDS=()
    ETC_NETNS=()
}
