#!/usr/bin/env bash
# Throwaway "nodes" and "pods" built from network namespaces, veth pairs and
# cgroup v2 directories, shared by the e2e tests, the demo and the benchmarks.
# See usage() for the commands.
#
# Pods are routed, Calico-style, rather than bridged: every packet between two
# pods crosses the node's netns as an L3 hop, so netfilter there (the
# kube-proxy baseline) sees both directions. Nodes talk over a bridge in a
# separate "fabric" netns. The root netns is never touched, so parallel
# testbeds (different IDs) cannot collide even though they reuse addresses.
set -euo pipefail

readonly STATE_DIR=/run/sluice-testbed
readonly PROG=${0##*/}
# As in Calico, every host-side veth has the same well-known MAC.
readonly GW_MAC=ee:ee:ee:ee:ee:ee
readonly READY_TIMEOUT=5

die()
{
	echo "$PROG: $*" >&2
	exit 1
}

# Teardown goes on past a failure, but reports it in its exit code.
warn()
{
	echo "$PROG: warning: $*" >&2
	LEFTOVERS=1
}

usage()
{
	cat <<EOF
usage: $PROG up   ID SPEC...
       $PROG add  ID SPEC...
       $PROG down ID
       $PROG exec ID NODE[/POD] -- CMD [ARGS...]
       $PROG info ID

SPEC: NODE | NODE/POD | NODE/POD:unmeshed
ID matches [a-z0-9]{1,12}; node and pod names match [a-z0-9]{1,10}.
State is kept in $STATE_DIR/ID.env, which 'info' prints.
EOF
}

# The cgroup v2 mount is not at a fixed place (hybrid layouts put it under
# /sys/fs/cgroup/unified), so always ask /proc/mounts.
cg2_root()
{
	local mnt fstype rest
	while read -r _ mnt fstype rest; do
		if [ "$fstype" = cgroup2 ]; then
			printf '%b\n' "$mnt"	# decodes \040 and friends
			return 0
		fi
	done </proc/mounts
	return 1
}

valid_id() { [[ $1 =~ ^[a-z0-9]{1,12}$ ]]; }
valid_name() { [[ $1 =~ ^[a-z0-9]{1,10}$ ]]; }

# nsenter rather than `ip netns exec`: the latter remounts /sys in a private
# mount namespace, which hides the cgroup tree from the command.
in_ns() { nsenter --net="/run/netns/$1" -- "${@:2}"; }
ns_sysctl() { in_ns "$1" sysctl -q -w "${@:2}" >/dev/null; }

# Our netns names are sluice-ID-..., and IDs and names never contain '-', so
# this prefix matches exactly the namespaces of one testbed.
list_netns()
{
	ip netns list 2>/dev/null | awk -v p="sluice-$1-" 'index($1, p) == 1 { print $1 }'
}

# ---- state ------------------------------------------------------------------

# State lives in shell variables named like the keys of the .env file; these
# helpers hide the indirection.
st() { local v="TB_$1"; printf '%s' "${!v-}"; }
st_set() { printf -v "TB_$1" '%s' "$2"; }

# st_many PREFIX KEY=VALUE...
st_many()
{
	local pre=$1 kv
	shift
	for kv in "$@"; do
		st_set "${pre}_${kv%%=*}" "${kv#*=}"
	done
}

quote()
{
	if [[ $1 =~ ^[A-Za-z0-9_./:@%+,=-]+$ ]]; then
		printf '%s' "$1"
	else
		printf "'%s'" "${1//\'/\'\\\'\'}"
	fi
}

emit()
{
	local k
	for k in "$@"; do
		local v="TB_$k"
		if [ -n "${!v+x}" ]; then
			printf 'TB_%s=%s\n' "$k" "$(quote "${!v}")"
		fi
	done
}

write_state()
{
	local tmp="$STATE_DIR/.$ID.env.$$" n p
	{
		emit ID CGROUP NODES PODS FABRIC_NETNS
		for n in $TB_NODES; do
			emit "NODE_${n}_INDEX" "NODE_${n}_NETNS" "NODE_${n}_CGROUP" \
				"NODE_${n}_HOST_CGROUP" "NODE_${n}_NPODS" \
				"NODE_${n}_ADDR4" "NODE_${n}_ADDR6" \
				"NODE_${n}_IP4" "NODE_${n}_IP6"
		done
		for p in $TB_PODS; do
			emit "POD_${p}_NODE" "POD_${p}_INDEX" "POD_${p}_MESHED" \
				"POD_${p}_IP4" "POD_${p}_IP6" "POD_${p}_NETNS" \
				"POD_${p}_CGROUP" "POD_${p}_VETH"
		done
	} >"$tmp"
	mv -f "$tmp" "$STATE_DIR/$ID.env"
}

load_state()
{
	local f="$STATE_DIR/$ID.env"
	[ -f "$f" ] || die "no testbed '$ID' (no $f)"
	# shellcheck disable=SC1090
	. "$f"
}

lock_state()
{
	mkdir -p "$STATE_DIR"
	exec {LOCK_FD}>"$STATE_DIR/$ID.lock"
	flock "$LOCK_FD"
}

# ---- building ---------------------------------------------------------------

add_node()
{
	local node=$1 i ns cg

	i=$(($(wc -w <<<"$TB_NODES") + 1))
	[ "$i" -le 254 ] || die "too many nodes (max 254)"
	ns="sluice-$ID-$node"
	cg="$TB_CGROUP/$node"

	ip netns add "$ns"
	TB_NODES="${TB_NODES:+$TB_NODES }$node"
	# The .1 of the node's pod range lives on its lo: without it a
	# single-node testbed has no IPv4 source address for node->pod traffic.
	# 169.254.1.1 there too: proxy_arp only answers for addresses the node
	# can route, and a node netns has no default route to cover it.
	st_many "NODE_$node" INDEX="$i" NETNS="$ns" CGROUP="$cg" NPODS=0 \
		HOST_CGROUP="$TB_CGROUP/host-$node" \
		ADDR4="10.200.$i.1" ADDR6="fd00:200:$i::1"

	# IPv4 devconf is inherited from the root netns: pin what matters.
	ns_sysctl "$ns" net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 \
		net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
	ip -n "$ns" -b - <<EOF
link set lo up
addr add 10.200.$i.1/32 dev lo
addr add 169.254.1.1/32 dev lo
addr add fd00:200:$i::1/128 dev lo nodad
EOF
	mkdir -p "$cg" "$TB_CGROUP/host-$node"
}

add_pod()
{
	local node=$1 pod=$2 meshed=$3 i k ns nns veth ip4 ip6 cg

	i=$(st "NODE_${node}_INDEX")
	k=$(($(st "NODE_${node}_NPODS") + 1))
	[ "$k" -le 253 ] || die "too many pods on node $node (max 253)"
	ns="sluice-$ID-$node-$pod"
	nns=$(st "NODE_${node}_NETNS")
	veth="vp$k"
	ip4="10.200.$i.$((k + 1))"
	ip6="fd00:200:$i::$((k + 1))"
	if [ "$meshed" = 1 ]; then
		cg="$TB_CGROUP/$node/$pod"
	else
		cg="$TB_CGROUP/unmeshed/$pod"
	fi

	ip netns add "$ns"
	TB_PODS="${TB_PODS:+$TB_PODS }$pod"
	st_set "NODE_${node}_NPODS" "$k"
	st_many "POD_$pod" NODE="$node" INDEX="$k" MESHED="$meshed" \
		IP4="$ip4" IP6="$ip6" NETNS="$ns" CGROUP="$cg" VETH="$veth"
	mkdir -p "$cg"

	# accept_dad before eth0 exists, so the new link inherits it from
	# "default". tcp_tw_reuse: a connect-rate benchmark leaves ~30k
	# TIME_WAIT sockets within seconds, and without reuse the ephemeral
	# port search then slows connect() down by an order of magnitude.
	ns_sysctl "$ns" net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv4.tcp_tw_reuse=1
	# Created from inside the node netns with the peer placed straight
	# into the pod netns: the root netns never sees either end.
	ip -n "$nns" link add "$veth" address "$GW_MAC" type veth \
		peer name eth0 netns "$ns"
	# proxy_delay=0: a proxied ARP reply is otherwise held back for up
	# to 0.8 s.
	ns_sysctl "$nns" "net.ipv4.conf.$veth.proxy_arp=1" \
		"net.ipv4.neigh.$veth.proxy_delay=0" \
		"net.ipv6.conf.$veth.accept_dad=0"
	ip -n "$nns" -b - <<EOF
link set $veth up
addr add fe80::1/64 dev $veth nodad
route add $ip4/32 dev $veth
route add $ip6/128 dev $veth
EOF
	ip -n "$ns" -b - <<EOF
link set lo up
link set eth0 up
addr add $ip4/32 dev eth0
addr add $ip6/128 dev eth0 nodad
route add 169.254.1.1/32 dev eth0 scope link
route add 0.0.0.0/0 via 169.254.1.1 dev eth0
route add ::/0 via fe80::1 dev eth0
EOF
}

ensure_fabric()
{
	local fns="sluice-$ID-fabric"

	[ -n "$(st FABRIC_NETNS)" ] && return 0
	ip netns add "$fns"
	st_set FABRIC_NETNS "$fns"
	ns_sysctl "$fns" net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
	# No STP and no multicast snooping: ports forward at once and IPv6
	# neighbour solicitations are never filtered by a stale MDB.
	ip -n "$fns" -b - <<EOF
link set lo up
link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
link set br0 up
EOF
}

ensure_uplink()
{
	local node=$1 i nns fns

	[ -n "$(st "NODE_${node}_IP4")" ] && return 0
	i=$(st "NODE_${node}_INDEX")
	nns=$(st "NODE_${node}_NETNS")
	fns=$(st FABRIC_NETNS)
	ip -n "$nns" link add up0 type veth peer name "n$i" netns "$fns"
	ip -n "$fns" link set "n$i" master br0 up
	ip -n "$nns" -b - <<EOF
link set up0 up
addr add 192.168.200.$i/24 dev up0
addr add fd00:ffff::$i/64 dev up0 nodad
EOF
	st_many "NODE_$node" IP4="192.168.200.$i" IP6="fd00:ffff::$i"
}

# Full mesh of routes between nodes; `replace` keeps it idempotent, so a node
# added later simply triggers a rerun for everyone.
route_nodes()
{
	local a b j cmds

	for a in $TB_NODES; do
		cmds=""
		for b in $TB_NODES; do
			[ "$a" = "$b" ] && continue
			j=$(st "NODE_${b}_INDEX")
			cmds+="route replace 10.200.$j.0/24 via 192.168.200.$j dev up0"$'\n'
			cmds+="route replace fd00:200:$j::/64 via fd00:ffff::$j dev up0"$'\n'
		done
		ip -n "$(st "NODE_${a}_NETNS")" -b - <<<"$cmds"
	done
}

# A TCP connect to a closed port on the node's own address: a refusal is
# proof that the path works both ways, and needs no ping binary.
probe()
{
	local ns=$1 addr=$2 out

	# shellcheck disable=SC2016 # $0 is expanded by the inner bash
	out=$(in_ns "$ns" timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/9"' \
		"$addr" 2>&1) && return 0
	[[ $out == *refused* ]]
}

wait_ready()
{
	local deadline=$((SECONDS + READY_TIMEOUT)) ns pod n

	for ns in $(list_netns "$ID"); do
		while [ -n "$(ip -n "$ns" -6 addr show tentative)" ]; do
			[ "$SECONDS" -lt "$deadline" ] ||
				die "IPv6 addresses in $ns still tentative"
			sleep 0.05
		done
	done
	# Also warms the neighbour caches on every path a new pod will use.
	for pod in "$@"; do
		ns=$(st "POD_${pod}_NETNS")
		for n in $TB_NODES; do
			until probe "$ns" "$(st "NODE_${n}_ADDR4")" &&
				probe "$ns" "$(st "NODE_${n}_ADDR6")"; do
				if [ "$SECONDS" -lt "$deadline" ]; then
					sleep 0.1
					continue
				fi
				# Once an agent polices traffic, `add` may find
				# paths closed on purpose; a fresh `up` never should.
				[ "$STRICT" = 1 ] && die "pod $pod cannot reach node $n"
				echo "$PROG: warning: pod $pod cannot reach node $n" >&2
				break
			done
		done
	done
}

parse_specs()
{
	local spec node pod meshed seen_pods=" "

	[ "$#" -gt 0 ] || die "no SPEC given"
	NEW_NODES=()
	NEW_PODS=()
	for spec in "$@"; do
		meshed=1
		if [[ $spec == */*:unmeshed ]]; then
			meshed=0
			spec=${spec%:unmeshed}
		fi
		if [[ $spec == */* ]]; then
			node=${spec%%/*}
			pod=${spec#*/}
			valid_name "$pod" ||
				die "bad pod name '$pod' in '$spec' (want [a-z0-9]{1,10})"
		else
			node=$spec
			pod=""
		fi
		valid_name "$node" ||
			die "bad node name '$node' in '$spec' (want [a-z0-9]{1,10})"
		# They would collide with <cg2>/sluice-ID/unmeshed, sluice-ID-fabric.
		if [ "$node" = unmeshed ] || [ "$node" = fabric ]; then
			die "node name '$node' is reserved"
		fi
		NEW_NODES+=("$node")
		[ -z "$pod" ] && continue
		if [ -n "$(st "POD_${pod}_NODE")" ] || [[ $seen_pods == *" $pod "* ]]; then
			die "pod name '$pod' is already used in testbed '$ID'"
		fi
		seen_pods+="$pod "
		NEW_PODS+=("$node/$pod/$meshed")
	done
}

apply_specs()
{
	local node item pod meshed added=()

	for node in "${NEW_NODES[@]}"; do
		[ -n "$(st "NODE_${node}_INDEX")" ] || add_node "$node"
	done
	for item in ${NEW_PODS[@]+"${NEW_PODS[@]}"}; do
		IFS=/ read -r node pod meshed <<<"$item"
		add_pod "$node" "$pod" "$meshed"
		added+=("$pod")
	done
	if [ "$(wc -w <<<"$TB_NODES")" -ge 2 ]; then
		ensure_fabric
		for node in $TB_NODES; do
			ensure_uplink "$node"
		done
		route_nodes
	fi
	write_state
	wait_ready ${added[@]+"${added[@]}"}
}

# ---- tearing down -----------------------------------------------------------

cg_populated() { grep -qx 'populated 1' "$1/cgroup.events" 2>/dev/null; }

kill_cgroup_tree()
{
	local top=$1 self i

	# Never kill ourselves: step out if we were started inside the tree.
	self=$(sed -n 's/^0:://p' /proc/self/cgroup)
	if [[ "$CG2$self/" == "$top/"* ]]; then
		echo $$ >"$CG2/cgroup.procs"
	fi
	# cgroup.kill is recursive, and also catches processes forking while
	# we kill (a plain kill loop over cgroup.procs would race with them).
	for ((i = 0; i < 100; i++)); do
		cg_populated "$top" || return 0
		echo 1 >"$top/cgroup.kill"
		sleep 0.1
	done
	warn "processes still left in $top"
}

do_down()
{
	local top ns pids=() pid i

	LEFTOVERS=0
	if [ -n "$CG2" ] && [ -d "$CG2/sluice-$ID" ]; then
		top="$CG2/sluice-$ID"
		kill_cgroup_tree "$top"
	fi
	# Anything that entered the namespaces without joining our cgroups.
	for ns in $(list_netns "$ID"); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			[ "$pid" = $$ ] && continue
			kill -KILL "$pid" 2>/dev/null && pids+=("$pid")
		done
	done
	for pid in ${pids[@]+"${pids[@]}"}; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			# A zombie has left its netns already.
			[ "$(sed 's/.*) //; s/ .*//' "/proc/$pid/stat" 2>/dev/null)" = Z ] &&
				break
			sleep 0.1
		done
	done
	for ns in $(list_netns "$ID"); do
		ip netns del "$ns" 2>/dev/null || [ ! -e "/run/netns/$ns" ] ||
			warn "cannot delete netns $ns"
	done
	if [ -n "${top-}" ] && [ -d "$top" ]; then
		for ((i = 0; i < 50; i++)); do
			find "$top" -depth -type d -exec rmdir {} + 2>/dev/null || true
			[ -d "$top" ] || break
			sleep 0.1
		done
		[ ! -d "$top" ] || warn "cannot remove $top"
	fi
	rm -f "$STATE_DIR/$ID.env" "$STATE_DIR/.$ID.env".*
	return "$LEFTOVERS"
}

# ---- commands ---------------------------------------------------------------

need_id()
{
	[ -n "${1-}" ] || die "missing ID"
	valid_id "$1" || die "bad ID '$1' (want [a-z0-9]{1,12})"
	ID=$1
}

need_cg2() { CG2=$(cg2_root) || die "no cgroup2 mount in /proc/mounts"; }

up_failed()
{
	echo "$PROG: up $ID failed, cleaning up" >&2
	do_down || true
	rm -f "$STATE_DIR/$ID.lock"
}

add_failed()
{
	echo "$PROG: add to $ID failed; the testbed may be inconsistent" \
		"(run: $PROG down $ID)" >&2
}

cmd_up()
{
	need_id "${1-}"
	shift
	need_cg2
	parse_specs "$@"
	lock_state
	if [ -e "$STATE_DIR/$ID.env" ] || [ -d "$CG2/sluice-$ID" ] ||
		[ -n "$(list_netns "$ID")" ]; then
		die "testbed '$ID' already exists (run: $PROG down $ID)"
	fi
	st_set ID "$ID"
	TB_CGROUP="$CG2/sluice-$ID"
	TB_NODES=""
	TB_PODS=""
	mkdir "$TB_CGROUP"
	STRICT=1
	# A failed up leaves nothing behind; only SIGKILL can skip this, and
	# `down` copes with that.
	trap up_failed EXIT
	apply_specs
	trap - EXIT
}

cmd_add()
{
	need_id "${1-}"
	shift
	need_cg2
	[ -f "$STATE_DIR/$ID.env" ] || die "no testbed '$ID'"
	lock_state
	load_state
	parse_specs "$@"
	STRICT=0
	trap add_failed EXIT
	apply_specs
	trap - EXIT
}

cmd_down()
{
	[ "$#" -eq 1 ] || die "usage: $PROG down ID"
	need_id "$1"
	CG2=$(cg2_root) || CG2=""
	lock_state
	do_down || die "testbed '$ID' not completely removed"
	rm -f "$STATE_DIR/$ID.lock"
}

cmd_exec()
{
	local target node pod cg ns

	need_id "${1-}"
	target=${2-}
	[ -n "$target" ] || die "usage: $PROG exec ID NODE[/POD] -- CMD..."
	shift 2
	[ "${1-}" = "--" ] && shift
	[ "$#" -gt 0 ] || die "exec: no command given"
	load_state
	if [[ $target == */* ]]; then
		node=${target%%/*}
		pod=${target#*/}
		if ! valid_name "$node" || ! valid_name "$pod"; then
			die "bad target '$target'"
		fi
		[ "$(st "POD_${pod}_NODE")" = "$node" ] ||
			die "no pod '$pod' on node '$node' in testbed '$ID'"
		cg=$(st "POD_${pod}_CGROUP")
		ns=$(st "POD_${pod}_NETNS")
	else
		node=$target
		valid_name "$node" || die "bad target '$target'"
		[ -n "$(st "NODE_${node}_INDEX")" ] ||
			die "no node '$node' in testbed '$ID'"
		cg=$(st "NODE_${node}_HOST_CGROUP")
		ns=$(st "NODE_${node}_NETNS")
	fi
	# Join first, then exec all the way down: the caller's $! ends up
	# being the command itself, and so do its exit code and stdio.
	echo $$ >"$cg/cgroup.procs" || die "cannot join cgroup $cg"
	exec nsenter --net="/run/netns/$ns" -- "$@"
}

cmd_info()
{
	[ "$#" -eq 1 ] || die "usage: $PROG info ID"
	need_id "$1"
	[ -f "$STATE_DIR/$ID.env" ] || die "no testbed '$ID'"
	cat "$STATE_DIR/$ID.env"
}

main()
{
	local cmd=${1-}

	# Exported TB_* from a caller's `set -a; eval "$(... info)"` must not
	# masquerade as state of this testbed.
	unset "${!TB_@}"
	[ "$#" -gt 0 ] && shift
	case $cmd in
	up) cmd_up "$@" ;;
	add) cmd_add "$@" ;;
	down) cmd_down "$@" ;;
	exec) cmd_exec "$@" ;;
	info) cmd_info "$@" ;;
	-h | --help | help) usage ;;
	*) usage >&2 && exit 2 ;;
	esac
}

main "$@"
