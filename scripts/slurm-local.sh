#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for trying piscale's srun path
# and for CI: munge, slurmctld and slurmd started directly (no systemd), with
# their key, configuration, state, spool, logs and sockets in one folder.
#
#   scripts/slurm-local.sh start   # idempotent; waits until the node is idle
#   scripts/slurm-local.sh stop    # idempotent; cancels jobs, stops daemons
#   scripts/slurm-local.sh status  # the daemons and `sinfo`
#   scripts/slurm-local.sh env     # the line to `eval` before srun/salloc/sbatch
#
# Clients find the cluster through SLURM_CONF, so nothing under /etc is
# touched: run `eval "$(scripts/slurm-local.sh env)"` before `salloc`.
#
# Needs root (slurmd starts tasks as their user) and Debian's packages:
#   apt-get install slurmctld slurmd slurm-client munge
# plus Open MPI (openmpi-bin, libopenmpi-dev) for `srun --mpi=pmix`. slurmd
# must start after Open MPI's PMIx library is installed, or its pmix plugin
# fails to load and every step times out.
#
# The configuration is the common default plus what one node needs:
# MpiDefault=none (so piscale must ask for --mpi=pmix itself, as on most
# clusters), select/cons_tres, proctrack/linuxproc and task/affinity.
#
# Settings (environment): PISCALE_SLURM_DIR (default /tmp/piscale-slurm),
# PISCALE_SLURM_PORT (slurmctld's port, default 6917; slurmd uses the next),
# PISCALE_SLURM_TIMEOUT (seconds to wait for an idle node, default 60).
set -euo pipefail

dir=${PISCALE_SLURM_DIR:-/tmp/piscale-slurm}
port=${PISCALE_SLURM_PORT:-6917}
timeout=${PISCALE_SLURM_TIMEOUT:-60}
conf=$dir/slurm.conf
socket=$dir/munge/munge.socket.2

say() { echo "slurm-local: $*" >&2; }
die() {
    say "$*"
    exit 1
}

# The pid in a pid file, if that process is alive.
alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

logs() {
    local f
    for f in "$dir"/log/*.log; do
        [ -f "$f" ] || continue
        echo "--- $f (last 20 lines)" >&2
        tail -n 20 "$f" >&2
    done
}

node_state() {
    SLURM_CONF=$conf sinfo --noheader --format=%t 2>/dev/null | head -n 1
}

configure() {
    mkdir -p "$dir"/{state,spool,log,run,munge}
    chmod 700 "$dir/munge"
    if [ ! -s "$dir/munge.key" ]; then
        # munge wants a key of 32 bytes or more, readable by its owner only.
        head -c 1024 /dev/urandom >"$dir/munge.key"
        chmod 600 "$dir/munge.key"
    fi
    local node host
    host=$(hostname -s)
    # slurmd -C describes this machine's CPUs, sockets, cores and memory as
    # slurmd itself will count them; its first line is a NodeName line.
    node=$(slurmd -C | head -n 1)
    case $node in
    NodeName=*) ;;
    *) die "slurmd -C did not describe this node: $node" ;;
    esac
    cat >"$conf" <<CONF
# Written by scripts/slurm-local.sh: a one-node cluster for piscale's tests.
ClusterName=piscale-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=5
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
    # slurmd reads cgroup.conf beside slurm.conf even when no cgroup plugin
    # is used; an empty one keeps it from looking elsewhere.
    : >"$dir/cgroup.conf"
}

start() {
    [ "$(id -u)" -eq 0 ] || die "needs root (slurmd starts tasks as their user)"
    local tool
    for tool in munged slurmctld slurmd sinfo srun; do
        command -v "$tool" >/dev/null 2>&1 ||
            die "$tool is not installed (Debian: apt-get install slurmctld slurmd slurm-client munge)"
    done
    if alive "$dir/run/munged.pid" && alive "$dir/run/slurmctld.pid" &&
        alive "$dir/run/slurmd.pid" && [ "$(node_state)" = idle ]; then
        say "already running: $(SLURM_CONF=$conf sinfo --noheader --format='%P %D %t %c' | head -n 1)"
        return 0
    fi
    configure
    if ! alive "$dir/run/munged.pid"; then
        # --force: munged refuses to run as root, or with a socket folder
        # outside /run, unless told it is wanted.
        munged --force --key-file="$dir/munge.key" --socket="$socket" \
            --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
            --seed-file="$dir/munged.seed" ||
            {
                logs
                die "munged did not start"
            }
    fi
    if ! alive "$dir/run/slurmctld.pid"; then
        # -c: a clean start; this cluster keeps no jobs across restarts.
        SLURM_CONF=$conf slurmctld -c -f "$conf" ||
            {
                logs
                die "slurmctld did not start"
            }
    fi
    if ! alive "$dir/run/slurmd.pid"; then
        SLURM_CONF=$conf slurmd -f "$conf" ||
            {
                logs
                die "slurmd did not start"
            }
    fi
    local waited=0 state=""
    while :; do
        state=$(node_state || true)
        case $state in
        idle) break ;;
        down* | drain* | fail*)
            # A node left down by an earlier run: give it back.
            SLURM_CONF=$conf scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true
            ;;
        esac
        if [ "$waited" -ge "$timeout" ]; then
            logs
            die "the node is not idle after ${timeout}s (state '${state:-unknown}')"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    say "up in ${waited}s: $(SLURM_CONF=$conf sinfo --noheader --format='partition %P, %D node, %c CPUs, %t' | head -n 1)"
    say "use it with: eval \"\$($0 env)\""
}

stop() {
    if [ -f "$conf" ] && alive "$dir/run/slurmctld.pid"; then
        SLURM_CONF=$conf scancel --full --quiet --user=root 2>/dev/null || true
    fi
    local daemon pid waited
    for daemon in slurmd slurmctld munged; do
        alive "$dir/run/$daemon.pid" || continue
        pid=$(cat "$dir/run/$daemon.pid")
        kill -TERM "$pid" 2>/dev/null || true
        waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 100 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$dir/run/$daemon.pid"
    done
    say "stopped (logs kept in $dir/log)"
}

status() {
    local daemon
    for daemon in munged slurmctld slurmd; do
        if alive "$dir/run/$daemon.pid"; then
            echo "$daemon: running (pid $(cat "$dir/run/$daemon.pid"))"
        else
            echo "$daemon: not running"
        fi
    done
    [ -f "$conf" ] && SLURM_CONF=$conf sinfo 2>&1 || true
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
env) echo "export SLURM_CONF=$conf" ;;
*)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
