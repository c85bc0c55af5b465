#!/usr/bin/env bash
# Two "hosts" on one machine for Open MPI experiments: network namespaces neuralA (10.77.0.1) and
# neuralB (10.77.0.2) joined by a veth pair, and an rsh agent that starts Open MPI's daemon in the
# namespace named by the host's address. Needs root (CAP_NET_ADMIN) and iproute2.
#
#   Scripts/mpi-netns.sh setup                      # create namespaces + veth (idempotent)
#   Scripts/mpi-netns.sh run [mpirun options] PROGRAM ARGS…   # one rank in each namespace, TCP over the veth
#   Scripts/mpi-netns.sh teardown
#
# `run` launches mpirun inside neuralA with hosts 10.77.0.1 (local) and 10.77.0.2 (reached through
# this script as plm_rsh_agent), Open MPI's TCP BTL only, on the veth's subnet.
set -euo pipefail
A=neuralA B=neuralB NET=10.77.0.0/24
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

case "${1:-}" in
setup)
    ip netns list | grep -qw "$A" || ip netns add "$A"
    ip netns list | grep -qw "$B" || ip netns add "$B"
    if ! ip -n "$A" link show vethA >/dev/null 2>&1; then
        ip link add vethA type veth peer name vethB
        ip link set vethA netns "$A"
        ip link set vethB netns "$B"
        ip -n "$A" addr add 10.77.0.1/24 dev vethA
        ip -n "$B" addr add 10.77.0.2/24 dev vethB
    fi
    for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
    ip -n "$A" link set vethA up
    ip -n "$B" link set vethB up
    ;;
teardown)
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
    ;;
agent)   # called by mpirun as: agent HOST COMMAND… (ssh-style: the command is one shell string)
    shift
    host="$1"; shift
    case "$host" in
    10.77.0.1) ns="$A" ;;
    10.77.0.2) ns="$B" ;;
    *) echo "mpi-netns agent: unknown host $host" >&2; exit 255 ;;
    esac
    exec ip netns exec "$ns" /bin/sh -c "$*"
    ;;
run)
    shift
    hosts="$(mktemp)"
    printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' > "$hosts"
    exec ip netns exec "$A" mpirun --allow-run-as-root --hostfile "$hosts" -np 2 --map-by node --bind-to none \
        --mca plm_rsh_agent "$self agent" --mca btl tcp,self --mca btl_tcp_if_include "$NET" \
        --mca oob_tcp_if_include "$NET" "$@"
    ;;
*)
    sed -n '2,12p' "$0"; exit 2 ;;
esac
