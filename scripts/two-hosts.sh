#!/usr/bin/env bash
# Two "hosts" on one machine, for testing piscale's `mpi` backend across
# hosts without a cluster: two Linux network namespaces, each with its own
# address on a private bridge, and an `mpirun` agent that starts Open MPI's
# daemons in them under their own host names.
#
#   scripts/two-hosts.sh up DIR [TAG]     make them; writes DIR/hostfile, DIR/rsh-agent
#   scripts/two-hosts.sh down DIR         remove everything `up DIR` made
#
# Why: a rank on another host differs from one on this host in what Open
# MPI's launcher, its TCP transport and piscale's report see — another
# daemon started through the rsh agent, another address, another host
# name. Namespaces give all three for real while staying on one machine.
#
# What `up` makes, every name carrying TAG (default: $TWO_HOSTS_TAG, else a
# checksum of DIR) so that runs side by side do not collide:
#
#   bridge  thb-TAG            10.213.N.1/24 in the root namespace, where
#                              mpirun runs (N: the first /24 of 10.213.0.0/16
#                              no interface here uses, picked under a lock)
#   netns   th-TAG-a, th-TAG-b each with lo and eth0 (10.213.N.2, 10.213.N.3)
#                              on a veth pair whose other end th-TAG-a (-b)
#                              is a port of the bridge
#   DIR/hostfile               "th-TAG-a slots=2" and "th-TAG-b slots=2"
#   DIR/rsh-agent              for `mpirun --mca plm_rsh_agent DIR/rsh-agent`:
#                              called as `rsh-agent HOST COMMAND…` like ssh,
#                              it runs COMMAND in netns HOST, in a UTS
#                              namespace of its own whose host name is HOST
#   DIR/mpi-args               the mpirun arguments to use them, one a line
#   DIR/state                  what `down` removes
#
# The host names resolve nowhere: Open MPI does not need them to, as the
# agent (not DNS) takes a host to its namespace, and the daemons and ranks
# are told to use the bridge's /24 only (oob_tcp_if_include,
# btl_tcp_if_include) so no traffic leaves the addresses made here.
#
# Needs root, iproute2 and util-linux (unshare, flock). When namespaces
# cannot be made (not root, `ip netns add` refused), `up` exits 3 with one
# line saying why, so tests can skip. `up` and `down` are idempotent: `up`
# on a DIR already set up first takes the old setup down; `down` also kills
# whatever still runs in the namespaces (a daemon a failed run left). The
# empty lock file (below) stays: removing it would race with another `up`.
set -Eeuo pipefail

LOCK=/run/lock/piscale-two-hosts.lock
# Interface names are at most 15 bytes: "th-" + TAG + "-a" leaves 10 for TAG.
TAG_MAX=10

usage() {
    echo "usage: $0 up DIR [TAG] | down DIR" >&2
    exit 2
}

# Removes what DIR/state lists; anything already gone is fine.
down() {
    local dir=$1 state=$1/state
    if [ -f "$state" ]; then
        local key value
        # The namespaces first: deleting one takes its veth end, and the peer
        # in the root namespace, with it. A process still inside (a daemon or
        # rank a failed run left) would keep the namespace alive, unnamed and
        # out of reach, so it is killed first: everything inside is ours.
        local pid
        while IFS='=' read -r key value; do
            if [ "$key" = ns ]; then
                for pid in $(ip netns pids "$value" 2>/dev/null); do
                    kill -KILL "$pid" 2>/dev/null || true
                done
                ip netns delete "$value" 2>/dev/null || true
            fi
        done <"$state"
        while IFS='=' read -r key value; do
            case $key in
            link | bridge) ip link delete "$value" 2>/dev/null || true ;;
            esac
        done <"$state"
    fi
    rm -f "$dir/hostfile" "$dir/rsh-agent" "$dir/mpi-args" "$state"
}

# Exits 3 with why namespaces cannot be made here, after undoing what was made.
cannot() {
    down "$DIR"
    echo "two-hosts: cannot make network namespaces: $*" >&2
    exit 3
}

# The first N in 1..254 such that no interface here has an address in
# 10.213.N.0/24. Called under the lock, which is held until the bridge has
# its address, so two `up`s never pick the same N.
free_subnet() {
    local used n
    used=$(ip -4 -o addr show | awk '{print $4}')
    for n in $(seq 1 254); do
        if ! grep -q "^10\.213\.$n\." <<<"$used"; then
            echo "$n"
            return 0
        fi
    done
    return 1
}

up() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "two-hosts: cannot make network namespaces: not root (uid $(id -u))" >&2
        exit 3
    fi
    for tool in ip unshare flock; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "two-hosts: cannot make network namespaces: \`$tool\` is not on PATH" >&2
            exit 3
        fi
    done
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    down "$DIR"

    local tag=${TAG:-${TWO_HOSTS_TAG:-}}
    if [ -z "$tag" ]; then
        tag=$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
        tag=${tag: -8}
    fi
    if ! [[ $tag =~ ^[a-z0-9]+$ ]] || [ ${#tag} -gt $TAG_MAX ]; then
        echo "two-hosts: TAG must be 1 to $TAG_MAX of a-z0-9, got '$tag'" >&2
        exit 2
    fi
    local bridge=thb-$tag host_a=th-$tag-a host_b=th-$tag-b
    # Each thing goes into the state file as soon as it exists, so that
    # `down` (and `cannot`, and a failure half-way) removes exactly what
    # this run made and nothing of another setup's.
    : >"$DIR/state"
    trap 'down "$DIR"' ERR

    local err ns
    for ns in "$host_a" "$host_b"; do
        if ip netns list | grep -q "^$ns\b"; then
            # Not a reason to skip: another setup (or a leftover) has this tag.
            down "$DIR"
            echo "two-hosts: netns $ns already exists: another setup uses tag $tag" >&2
            exit 1
        fi
        if ! err=$(ip netns add "$ns" 2>&1); then
            cannot "ip netns add $ns: $err"
        fi
        echo "ns=$ns" >>"$DIR/state"
    done

    local n
    exec 9>"$LOCK"
    flock 9
    if ! n=$(free_subnet); then
        cannot "no free /24 left in 10.213.0.0/16"
    fi
    local net=10.213.$n
    if ! err=$(ip link add "$bridge" type bridge 2>&1); then
        cannot "ip link add $bridge type bridge: $err"
    fi
    echo "bridge=$bridge" >>"$DIR/state"
    ip addr add "$net.1/24" dev "$bridge"
    ip link set "$bridge" up
    flock -u 9
    exec 9>&-
    echo "net=$net.0/24" >>"$DIR/state"

    local i=2 ns
    for ns in "$host_a" "$host_b"; do
        # The root end is named like the host; the namespace end becomes eth0.
        ip link add "$ns" type veth peer name "eth0" netns "$ns"
        echo "link=$ns" >>"$DIR/state"
        ip link set "$ns" master "$bridge" up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$net.$i/24" dev eth0
        ip -n "$ns" link set eth0 up
        i=$((i + 1))
    done

    printf '%s slots=2\n' "$host_a" "$host_b" >"$DIR/hostfile"

    # The agent, called by mpirun (or by hand) as `rsh-agent [-x] HOST
    # COMMAND…`: like ssh, it runs the words of COMMAND joined by spaces as a
    # shell command line on HOST. mpirun builds that line for a remote
    # shell (PATH=…; export PATH; … orted …), hence the `eval`.
    cat >"$DIR/rsh-agent" <<AGENT
#!/bin/sh
# Made by scripts/two-hosts.sh: an ssh stand-in for mpirun's rsh launcher
# that enters the network namespace named HOST and gives it host name HOST.
set -eu
while [ \$# -gt 0 ]; do
    case \$1 in
    -*) shift ;;      # ssh options (-x and the like) mean nothing here
    *) break ;;
    esac
done
[ \$# -ge 2 ] || { echo "rsh-agent: usage: rsh-agent HOST COMMAND..." >&2; exit 255; }
host=\$1
shift
case \$host in
$host_a | $net.2) ns=$host_a ;;
$host_b | $net.3) ns=$host_b ;;
*) echo "rsh-agent: unknown host \$host (known: $host_a, $host_b)" >&2; exit 255 ;;
esac
# \$0 and \$* are the inner shell's: HOST and COMMAND.
# shellcheck disable=SC2016
exec ip netns exec "\$ns" unshare --uts sh -c 'hostname "\$0" && eval "\$*"' "\$ns" "\$@"
AGENT
    chmod 755 "$DIR/rsh-agent"

    # Launch every daemon from here (no tree spawn: a daemon would run the
    # agent inside a namespace), and keep Open MPI on the bridge's /24.
    printf '%s\n' \
        --mca plm_rsh_agent "$DIR/rsh-agent" \
        --mca plm_rsh_no_tree_spawn 1 \
        --mca oob_tcp_if_include "$net.0/24" \
        --mca btl tcp,self \
        --mca btl_tcp_if_include "$net.0/24" >"$DIR/mpi-args"

    trap - ERR
    echo "two-hosts: up: netns $host_a ($net.2) and $host_b ($net.3) on bridge $bridge ($net.1/24)"
    echo "two-hosts: hostfile $DIR/hostfile, agent $DIR/rsh-agent, mpirun arguments $DIR/mpi-args"
}

[ $# -ge 2 ] || usage
CMD=$1
DIR=$2
TAG=${3:-}
case $CMD in
up) up ;;
down)
    down "$DIR"
    echo "two-hosts: down: $DIR"
    ;;
*) usage ;;
esac
