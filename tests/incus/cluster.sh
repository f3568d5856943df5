#!/bin/bash
# A 2-member Incus cluster inside network namespaces, for tests/incus (from the issue-12 prototype).
#   cluster.sh up          namespaces, one incusd per member, m1 bootstraps, m2 joins; a client certificate trusted
#   cluster.sh start M     (re)start member M's incusd (after the member-loss test killed it)
#   cluster.sh down        delete everything made here: instances, daemons (by PID), namespaces, mounts, loops, BASE
# Namespaces lgit-m1, lgit-m2, lgit-grader; links m1<->m2 (cluster, 10.250.0.0/24) and grader<->m1 (10.250.1.0/24).
# No namespace has a default route: nothing leaves. Run as root.
set -euo pipefail

BASE=${LABGRADER_INCUS_TEST_DIR:-/var/lib/labgrader-incus-tests}
NS=${LABGRADER_INCUS_TEST_NS:-lgit}  # a second cluster can run beside (another NS and BASE)
declare -A ADDR=([m1]=10.250.0.11 [m2]=10.250.0.12)
GRADER_ADDR=10.250.1.1 M1_GRADER_ADDR=10.250.1.254
LAB_CIDR=${LAB_CIDR:-192.168.56.0/24}   # the lab network the tests create on m1, routed from the grader
POOL_SIZE=${POOL_SIZE:-12GiB}           # btrfs on a sparse loop file: the image is unpacked once per member

log() { printf '%s cluster.sh: %s\n' "$(date -u +%T.%N | cut -c1-12)" "$*" >&2; }
inc() { local m=$1; shift; ip netns exec "$NS-$m" env -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE \
          INCUS_DIR="$BASE/$m" incus "$@"; }
pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

netns_up() {
  for m in m1 m2 grader; do
    [[ -e /run/netns/$NS-$m ]] || { ip netns add "$NS-$m"; ip -n "$NS-$m" link set lo up; }
  done
  if ! ip -n "$NS-m1" link show cl0 &>/dev/null; then
    ip link add "$NS-cl-a" type veth peer name "$NS-cl-b"
    ip link set "$NS-cl-a" netns "$NS-m1" name cl0; ip link set "$NS-cl-b" netns "$NS-m2" name cl0
    for m in m1 m2; do ip -n "$NS-$m" addr add "${ADDR[$m]}/24" dev cl0; ip -n "$NS-$m" link set cl0 up; done
    ip -n "$NS-m2" route add 10.250.1.0/24 via "${ADDR[m1]}"   # m2 answers the grader through m1
  fi
  if ! ip -n "$NS-grader" link show gr0 &>/dev/null; then
    ip link add "$NS-gr-a" type veth peer name "$NS-gr-b"
    ip link set "$NS-gr-a" netns "$NS-grader" name gr0; ip link set "$NS-gr-b" netns "$NS-m1" name gr0
    ip -n "$NS-grader" addr add "$GRADER_ADDR/24" dev gr0; ip -n "$NS-m1" addr add "$M1_GRADER_ADDR/24" dev gr0
    ip -n "$NS-grader" link set gr0 up; ip -n "$NS-m1" link set gr0 up
    # The grader reaches the cluster's API and the lab's machines through member 1 (routed, no NAT).
    ip -n "$NS-grader" route add 10.250.0.0/24 via "$M1_GRADER_ADDR"
    ip -n "$NS-grader" route add "$LAB_CIDR" via "$M1_GRADER_ADDR"
  fi
  ip netns exec "$NS-m1" sysctl -qw net.ipv4.ip_forward=1
}

# One incusd per member, in its own network namespace and in the private mount namespace `ip netns exec` makes:
# the cgroup hierarchies are mounted again there (ip netns exec hides them), and so are incusd's own mounts.
start() {
  local m=$1 dir=$BASE/$1
  if pid_alive "$BASE/$m.pid"; then log "$m incusd already running"; return; fi
  mkdir -p "$dir"; chmod 0711 "$BASE" "$dir"
  # shellcheck disable=SC2016
  setsid ip netns exec "$NS-$m" env -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE INCUS_DIR="$dir" bash -c '
    set -e
    mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
    for c in blkio cpu cpuacct cpuset devices freezer memory pids; do
      mkdir -p /sys/fs/cgroup/$c; mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c; done
    mkdir -p /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
    mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
    mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
    # As on a systemd host: Incus binds the member'"'"'s binfmt_misc into privileged containers, whose
    # systemd-binfmt.service fails on a plain /proc directory (an entry the tests add is removed by `down`).
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    exec /usr/libexec/incus/incusd --group root --logfile "$INCUS_DIR/incusd.log"' \
    </dev/null >"$BASE/$m.out" 2>&1 &
  echo $! > "$BASE/$m.pid"
  for _ in $(seq 150); do
    inc "$m" query /1.0 &>/dev/null && { log "$m incusd up (pid $(cat "$BASE/$m.pid"))"; return; }
    pid_alive "$BASE/$m.pid" || break
    sleep 0.2
  done
  tail -5 "$BASE/$m.out" "$dir/incusd.log" >&2; log "$m incusd did not start"; return 1
}

# binfmt_misc is one table for the whole machine (the initial user namespace): what the labs' machines register
# there is removed at `down`, what was there before is kept.
binfmt_entries() { unshare -m sh -c 'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc &&
  ls /proc/sys/fs/binfmt_misc | grep -vx -e register -e status' || true; }
binfmt_restore() {
  [[ -f $BASE/binfmt.before ]] || return 0
  local added; added=$(binfmt_entries | grep -vxF -f "$BASE/binfmt.before" || true)
  [[ -z $added ]] && return 0
  unshare -m sh -c 'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc &&
    for e in "$@"; do echo -1 > "/proc/sys/fs/binfmt_misc/$e"; done' sh $added
  log "binfmt_misc entries the labs added, removed: $added"
}

up() {
  netns_up
  mkdir -p "$BASE"; [[ -f $BASE/binfmt.before ]] || binfmt_entries > "$BASE/binfmt.before"
  start m1
  if ! inc m1 cluster list &>/dev/null; then
    inc m1 admin init --preseed <<EOF
config:
  core.https_address: ${ADDR[m1]}:8443
  cluster.https_address: ${ADDR[m1]}:8443
  images.auto_update_interval: "0"
cluster: {server_name: m1, enabled: true}
storage_pools:
- {name: local, driver: btrfs, config: {size: $POOL_SIZE}}
profiles:
- name: default
  devices:
    root: {type: disk, path: /, pool: local}
EOF
    log "m1 bootstrapped"
  fi
  start m2
  if ! inc m1 cluster list -f csv | grep -q '^m2,'; then
    local token; token=$(inc m1 cluster add m2 --quiet)
    inc m2 admin init --preseed <<EOF
cluster:
  enabled: true
  server_name: m2
  server_address: ${ADDR[m2]}:8443
  cluster_token: $token
  member_config:
  - {entity: storage-pool, name: local, key: source, value: ""}
  - {entity: storage-pool, name: local, key: size, value: $POOL_SIZE}
EOF
    log "m2 joined"
  fi
  # The grader's certificate, for the HTTPS client (the cluster's own certificate is pinned by the tests).
  if [[ ! -f $BASE/client.crt ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 -subj /CN=labgrader-tests \
      -keyout "$BASE/client.key" -out "$BASE/client.crt" 2>/dev/null
    inc m1 config trust add-certificate "$BASE/client.crt" --name labgrader-tests
  fi
}

down() {
  if pid_alive "$BASE/m1.pid"; then
    inc m1 list --all-projects -c en -f csv 2>/dev/null | while IFS=, read -r project name; do
      inc m1 delete --force --project "$project" "$name" 2>/dev/null || log "could not delete instance $name"; done
  fi
  for m in m2 m1; do
    pid_alive "$BASE/$m.pid" || continue
    local pid; pid=$(cat "$BASE/$m.pid"); kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"; log "$m incusd ($pid) stopped"
  done
  # Containers (and their monitors) a dead member left behind, ended by PID.
  kill_containers m1; kill_containers m2
  # dnsmasq and forkdns processes of ours live in our namespaces.
  for m in m1 m2 grader; do
    [[ -e /run/netns/$NS-$m ]] || continue
    for p in $(ip netns pids "$NS-$m"); do log "killing leftover pid $p ($(ps -o comm= -p "$p"))"; kill -9 "$p" || true; done
    ip netns del "$NS-$m"
  done
  binfmt_restore
  awk -v b="$BASE" 'index($2, b) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  losetup -a | awk -F: -v b="$BASE" 'index($0, b) {print $1}' | xargs -r -n1 losetup -d
  rm -rf "$BASE"
  log "down"
}

# The containers member M runs (their lxc monitors name its directory), every process of each killed by PID, found
# by its cgroup. A killed init takes its children with it a moment later: wait (bounded) until none is left, or
# the loop devices stay busy at `down`.
kill_containers() {
  local m=$1 names=() p f n
  for p in $(pgrep -f "^\[lxc monitor\] $BASE/$m/containers "); do
    names+=("$(tr '\0' '\n' < "/proc/$p/cmdline" | awk 'NF {last=$NF} END {print last}')")
  done
  [[ ${#names[@]} -eq 0 ]] && return 0
  for _ in $(seq 50); do
    local left=()
    for f in /proc/[0-9]*/cgroup; do
      for n in "${names[@]}"; do
        grep -qE "lxc\.(payload|monitor)\.$n(/|$)" "$f" 2>/dev/null || continue
        p=${f#/proc/}; p=${p%/cgroup}; left+=("$p"); kill -9 "$p" 2>/dev/null || true
      done
    done
    [[ ${#left[@]} -eq 0 ]] && break
    sleep 0.2
  done
  log "$m: containers killed: ${names[*]}"
}

# Member M lost as in a power cut: its incusd and every container it ran.
crash() {
  pid_alive "$BASE/$1.pid" && kill -9 "$(cat "$BASE/$1.pid")"
  kill_containers "$1"
  log "$1 crashed"
}

case ${1:-} in
  up) up ;; down) down ;; start) start "$2" ;; crash) crash "$2" ;;
  *) echo "usage: $0 up|start MEMBER|crash MEMBER|down" >&2; exit 2 ;;
esac
