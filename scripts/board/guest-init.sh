#!/bin/bash
# PID 1 of the board-in-a-box guest (scripts/test-board.sh copies it to /sbin/ela-board-init in the root).
# Creates the gpio-sim chips the installed board file describes, starts the installed ela-agent on that board with
# the real libgpiod backend and the full plugin sandbox, runs the checks through elactl (and so through the gate),
# prints one line per check on the serial console, and reports the verdict through qemu's isa-debug-exit device:
# exit status 1 = PASS, 3 = FAIL. The host parses the `BOARD-CHECK` and `BOARD-RESULT` lines.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root TERM=dumb
BOARD=qemu-gpio-sim
ROGUE_LABEL=ela-sim-rogue
FAILED=0
PASSED=0

now() { date +%s%N; }
ms_since() { echo $((($(now) - $1) / 1000000)); }
say() { echo "BOARD: $*"; }
# check NAME CMD...: runs CMD; its output goes to the console indented; one BOARD-CHECK line with the time taken.
check() {
    local name=$1 t rc out
    shift
    t=$(now)
    out=$("$@" 2>&1) && rc=0 || rc=$?
    [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    | /'
    if [ $rc = 0 ]; then
        PASSED=$((PASSED + 1)); echo "BOARD-CHECK: PASS $name ($(ms_since "$t") ms)"
    else
        FAILED=$((FAILED + 1)); echo "BOARD-CHECK: FAIL $name ($(ms_since "$t") ms)"
    fi
}
# Only during setup: a failure here ends the run.
must() { "$@" || { echo "BOARD-CHECK: FAIL setup: $*"; finish 1; }; }
finish() {
    [ "$1" != 0 ] && FAILED=$((FAILED + 1))
    if [ -n "${AGENT_PID:-}" ]; then
        [ "$FAILED" != 0 ] && { say "agent stderr (last 40 lines):"; tail -40 /tmp/agent.err | sed 's/^/    | /'; }
        kill -TERM "$AGENT_PID" 2>/dev/null
        wait "$AGENT_PID"; say "agent exited with status $?"
    fi
    if [ "$FAILED" = 0 ]; then echo "BOARD-RESULT: PASS ($PASSED checks, $(ms_since "$T_BOOT") ms in the guest)"; code='\x00'
    else echo "BOARD-RESULT: FAIL ($FAILED failed, $PASSED passed)"; code='\x01'; fi
    sync
    # isa-debug-exit: qemu exits with (byte << 1) | 1. Fallback: a reboot, which -no-reboot turns into an exit.
    printf "$code" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
    echo b > /proc/sysrq-trigger
    sleep 10
}

# ---- the machine ----------------------------------------------------------------------------------------------
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t configfs configfs /sys/kernel/config
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
# The agent's database lives on tmpfs: SQLite's WAL needs shared mmap, which the 9p root does not give.
mount -t tmpfs -o mode=0700 tmpfs /var/lib/ela-agent
for word in $(cat /proc/cmdline); do case $word in ela_epoch=*) date -s "@${word#ela_epoch=}" >/dev/null ;; esac; done
T_BOOT=$(now)
# Bad-case hooks (ELA_BOARD_APPEND on the host): a guest that never finishes, a check that fails.
grep -qw ela_board_hang /proc/cmdline && { echo "BOARD: ela_board_hang: init stops here"; while :; do sleep 3600; done; }
grep -qw ela_board_forcefail /proc/cmdline && FORCE_FAIL=1
hostname qemu-gpio-sim
say "guest up at $(date -u +%H:%M:%S), kernel $(uname -r)"
echo "BOARD-STAGE: boot (kernel start to init's mounts) $(awk '{ printf "%d", $1 * 1000 }' /proc/uptime) ms"

# ---- gpio-sim chips from the installed board file --------------------------------------------------------------
# `elactl board show` prints "chip LABEL: N lines, devices /dev/gpiochipK" and "  PIN<TAB>LABEL line N".
T_SIM=$(now)
must elactl board show "$BOARD" > /tmp/board.txt
SIM=/sys/kernel/config/gpio-sim
declare -A SYSFS    # chip label -> /sys/devices/platform/gpio-sim.N/gpiochipK
declare -A CHIPDEV  # chip label -> gpiochipK
declare -A PIN_CHIP PIN_LINE
n=0
make_chip() { # make_chip LABEL LINES EXPECTED_DEVICE(or "") [NAME:LINE...]
    local label=$1 lines=$2 want=$3 dev=$SIM/chip$n
    shift 3
    must mkdir "$dev" "$dev/bank0"
    echo "$lines" > "$dev/bank0/num_lines"
    echo "$label" > "$dev/bank0/label"
    local nl
    for nl in "$@"; do mkdir "$dev/bank0/line${nl#*:}"; echo "${nl%%:*}" > "$dev/bank0/line${nl#*:}/name"; done
    must eval "echo 1 > $dev/live"
    local chip; chip=$(cat "$dev/bank0/chip_name")
    SYSFS[$label]=/sys/devices/platform/$(cat "$dev/dev_name")/$chip
    CHIPDEV[$label]=$chip
    if [ -n "$want" ] && [ "/dev/$chip" != "$want" ]; then
        echo "BOARD-CHECK: FAIL setup: chip $label became /dev/$chip, the board grants $want"; finish 1
    fi
    say "gpio-sim chip '$label' ($lines lines) is /dev/$chip at ${SYSFS[$label]}"
    n=$((n + 1))
}
while read -r first rest; do
    [ "$first" = chip ] || continue
    label=${rest%%:*}
    lines=$(echo "$rest" | sed -n 's/^[^:]*: \([0-9]*\) lines.*/\1/p')
    want=$(echo "$rest" | sed -n 's/.*devices \(\/dev\/gpiochip[0-9]*\).*/\1/p')
    names=$(awk -v c="$label" '$2 == c && $3 == "line" { print $1 ":" $4 }' /tmp/board.txt)
    # shellcheck disable=SC2086
    make_chip "$label" "$lines" "$want" $names
done < /tmp/board.txt
while read -r pin chip word line; do
    [ "$word" = line ] && { PIN_CHIP[$pin]=$chip; PIN_LINE[$pin]=$line; }
done < /tmp/board.txt
# A third chip the board does not name: the GPIO plugin must not be able to open it.
make_chip "$ROGUE_LABEL" 4 "" SECRET:0
ROGUE_DEV=/dev/${CHIPDEV[$ROGUE_LABEL]}
sysfs() { echo "${SYSFS[${PIN_CHIP[$1]}]}/sim_gpio${PIN_LINE[$1]}/$2"; } # sysfs PIN value|pull
gpiodetect | sed 's/^/    | /'
echo "BOARD-STAGE: gpio-sim $(ms_since "$T_SIM") ms"

# ---- the installed agent ---------------------------------------------------------------------------------------
T_AGENT=$(now)
AGENT=$(command -v ela-agent)
# As systemd would start it: the installed unit's UMask, capability bounding set and no_new_privs (the guest has no
# systemd; these are what the sandbox launcher depends on).
UNIT=$(ls /lib/systemd/system/ela-agent.service /usr/lib/systemd/system/ela-agent.service 2>/dev/null | head -1)
[ -n "$UNIT" ] || { echo "BOARD-CHECK: FAIL setup: the package installed no ela-agent.service"; finish 1; }
UNIT_UMASK=$(sed -n 's/^UMask=//p' "$UNIT")
UNIT_CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr 'A-Z ' 'a-z\n' | sed -n 's/^cap_\(.\)/+\1/p' | paste -sd, -)
UNIT_NNP=$(sed -n 's/^NoNewPrivileges=yes$/--no-new-privs/p' "$UNIT")
[ -n "$UNIT_UMASK" ] && [ -n "$UNIT_CAPS" ] || { echo "BOARD-CHECK: FAIL setup: cannot read UMask and CapabilityBoundingSet from $UNIT"; finish 1; }
say "starting $AGENT (board $(sed -n 's/^board = //p' /etc/ela-agent/agent.toml)) as $UNIT does: umask $UNIT_UMASK, capabilities $UNIT_CAPS $UNIT_NNP"
# shellcheck disable=SC2086
(umask "$UNIT_UMASK" && exec setpriv --bounding-set "-all,$UNIT_CAPS" --inh-caps -all $UNIT_NNP "$AGENT" --config /etc/ela-agent/agent.toml) \
    > /tmp/agent.out 2> /tmp/agent.err &
AGENT_PID=$!
for _ in $(seq 1 1200); do
    grep -q "ela-agent ready" /tmp/agent.out && break
    kill -0 $AGENT_PID 2>/dev/null || break
    sleep 0.1
done
grep -q "ela-agent ready" /tmp/agent.out || { echo "BOARD-CHECK: FAIL setup: the agent did not start"; cat /tmp/agent.out; finish 1; }
grep "ela-agent ready" /tmp/agent.out | sed 's/^/    | /'
for _ in $(seq 1 600); do
    elactl plugin list 2>/dev/null | grep -q '^gpio .*: running' && break
    sleep 0.1
done
echo "BOARD-STAGE: agent ready, gpio plugin running $(ms_since "$T_AGENT") ms"

# ---- identities ------------------------------------------------------------------------------------------------
did_of() { sed -n 's/.*"did" *: *"\([^"]*\)".*/\1/p' "$1" | head -1; }
must elactl identity create --dir /root/operator --json > /tmp/operator.json
must elactl identity create --dir /root/stranger --json > /tmp/stranger.json
OPERATOR=$(did_of /tmp/operator.json)
STRANGER=$(did_of /tmp/stranger.json)
must elactl grant add "$OPERATOR" 'gpio.*' --note "board-in-a-box operator" > /dev/null
say "operator $OPERATOR granted gpio.*; stranger $STRANGER has no grant"
op() { elactl call --as /root/operator "$@"; }

# ---- checks ----------------------------------------------------------------------------------------------------
plugin_sandbox() {
    local info; info=$(elactl plugin info gpio) || { echo "$info"; return 1; }
    echo "$info" | grep -E '^(gpio |sandbox:|  [a-z_]+:)'
    elactl plugin list | grep -q '^gpio .*sandbox: \([0-9]*\)/\1 active' || { echo "not every sandbox layer is active"; return 1; }
    echo "$info" | grep -q "granted: /dev/${CHIPDEV[ela-sim-outputs]} /dev/${CHIPDEV[ela-sim-inputs]};" ||
        { echo "the devices layer does not grant exactly the board's chips"; return 1; }
}
check "gpio plugin runs with every sandbox layer active, granted the board's chips" plugin_sandbox

info_lists_pins() {
    local out p
    out=$(op gpio.info) || { echo "$out"; return 1; }
    echo "$out" | sed 's/},{/},\n{/g'
    echo "$out" | grep -q '"backend":"gpiod"' || { echo "backend is not gpiod"; return 1; }
    for p in "${!PIN_CHIP[@]}"; do
        echo "$out" | grep -q "\"name\":\"$p\",\"chip\":\"${PIN_CHIP[$p]}\",\"line\":${PIN_LINE[$p]}[,}]" ||
            { echo "pin $p (${PIN_CHIP[$p]} line ${PIN_LINE[$p]}) missing"; return 1; }
    done
    echo "$out" | grep -q '"problem"' && { echo "a pin or chip has a problem"; return 1; }
    return 0
}
check "gpio.info lists the board's ${#PIN_CHIP[@]} pins with their chips and lines (gpiod backend)" info_lists_pins

write_shows_in_sysfs() {
    local v
    op gpio.write '{"pin":"LED0","value":1}' || return 1
    v=$(cat "$(sysfs LED0 value)"); echo "LED0 high: $(sysfs LED0 value) = $v"; [ "$v" = 1 ] || return 1
    op gpio.write '{"pin":"LED0","value":0}' || return 1
    v=$(cat "$(sysfs LED0 value)"); echo "LED0 low: sysfs value = $v"; [ "$v" = 0 ] || return 1
    op gpio.write '{"pin":"RELAY0","value":1}' || return 1
    v=$(cat "$(sysfs RELAY0 value)"); echo "RELAY0 high: sysfs value = $v"; [ "$v" = 1 ] || return 1
    gpioinfo "${CHIPDEV[ela-sim-outputs]}" | grep -E 'LED0|RELAY0'
}
check "gpio.write drives the line: the simulator's sysfs value follows" write_shows_in_sysfs

read_follows_pull() {
    local out
    echo pull-up > "$(sysfs DOOR pull)"
    out=$(op gpio.read '{"pin":"DOOR"}') || { echo "$out"; return 1; }
    echo "pull-up   -> $out"; echo "$out" | grep -q '"value":1' || return 1
    echo pull-down > "$(sysfs DOOR pull)"
    out=$(op gpio.read '{"pin":"DOOR"}') || { echo "$out"; return 1; }
    echo "pull-down -> $out"; echo "$out" | grep -q '"value":0' || return 1
}
check "gpio.read on an input follows the sysfs pull" read_follows_pull

edges_arrive() {
    local out watcher ev
    echo pull-down > "$(sysfs BUTTON0 pull)"
    out=$(op gpio.watch '{"pin":"BUTTON0","edge":"both"}') || { echo "$out"; return 1; }
    echo "watch: $out"
    elactl events gpio.edge --as /root/operator --count 2 > /tmp/edges.txt 2> /tmp/edges.err &
    watcher=$!
    sleep 1.5 # let the subscription land before the edges
    echo pull-up > "$(sysfs BUTTON0 pull)"
    sleep 0.2
    echo pull-down > "$(sysfs BUTTON0 pull)"
    for _ in $(seq 1 100); do kill -0 $watcher 2>/dev/null || break; sleep 0.1; done
    kill $watcher 2>/dev/null && { echo "no two edges within 10 s"; cat /tmp/edges.txt /tmp/edges.err; return 1; }
    cat /tmp/edges.txt
    ev=$(sed -n 's/.*"edge":"\([a-z]*\)".*/\1/p' /tmp/edges.txt | paste -sd,)
    [ "$ev" = "rising,falling" ] || { echo "edges: $ev"; return 1; }
    [ "$(grep -c '"timestamp_ns":[0-9][0-9]*' /tmp/edges.txt)" = 2 ] || { echo "timestamps missing"; return 1; }
    local t1 t2
    t1=$(sed -n '1s/.*"timestamp_ns":\([0-9]*\).*/\1/p' /tmp/edges.txt); t2=$(sed -n '2s/.*"timestamp_ns":\([0-9]*\).*/\1/p' /tmp/edges.txt)
    echo "falling - rising = $(((t2 - t1) / 1000000)) ms (the guest slept 200 ms between the pulls)"
    [ "$t2" -gt "$t1" ]
}
check "gpio.watch delivers the rising and the falling edge with kernel timestamps" edges_arrive

busy_lines() {
    local out
    # Inside the agent: BUTTON0 is held by the watch.
    out=$(op gpio.write '{"pin":"BUTTON0","value":1}' 2>&1) && { echo "write to a watched pin succeeded"; return 1; }
    echo "write BUTTON0 (watched): $out"; echo "$out" | grep -q "held by watch" || return 1
    # Across processes: the kernel refuses a line another program holds, and the error names the holder.
    gpioset --mode=signal "${CHIPDEV[ela-sim-inputs]}" "${PIN_LINE[MOTION]}=1" & local holder=$!
    sleep 0.5
    out=$(op gpio.read '{"pin":"MOTION"}' 2>&1) && { kill $holder; echo "read of a held line succeeded: $out"; return 1; }
    kill $holder; wait $holder 2>/dev/null
    echo "read MOTION (held by gpioset): $out"; echo "$out" | grep -q "busy: held by 'gpioset'" || return 1
    # And the other way round: a line the agent drives is refused to another program.
    out=$(gpioget "${CHIPDEV[ela-sim-outputs]}" "${PIN_LINE[RELAY0]}" 2>&1) && { echo "gpioget of RELAY0 succeeded: $out"; return 1; }
    echo "gpioget RELAY0 (held by the agent): $out"
    gpioinfo "${CHIPDEV[ela-sim-outputs]}" | grep RELAY0 | grep -q '"ela-gpio"' || return 1
}
check "a held line is refused to a second request with an error naming the holder" busy_lines

stranger_denied() {
    local out rows
    out=$(elactl call --as /root/stranger gpio.write '{"pin":"LED1","value":1}' 2>&1) && { echo "stranger allowed: $out"; return 1; }
    echo "stranger: $out"
    [ "$(cat "$(sysfs LED1 value)")" = 0 ] || { echo "LED1 changed"; return 1; }
    out=$(elactl call --as /root/stranger gpio.read '{"pin":"DOOR"}' 2>&1) && { echo "stranger allowed: $out"; return 1; }
    rows=$(elactl audit list --subject "$STRANGER" --decision deny)
    echo "$rows"
    [ "$(echo "$rows" | grep -c ' deny ')" -ge 2 ] || { echo "the denials are not in the audit log"; return 1; }
    elactl audit list --subject "$OPERATOR" --decision allow --limit 3
    elactl audit verify
}
check "a stranger is denied, the denials are audited, the audit chain verifies" stranger_denied

rogue_chip_refused() {
    # What the plugin itself sees through its sandbox: only the granted chips, though the guest has three.
    local out argv=() a seen=0 i
    echo "guest: $(gpiodetect | paste -sd';')"
    out=$(op gpio.info) || return 1
    echo "$out" | grep -q "$ROGUE_LABEL" && { echo "the plugin sees the rogue chip"; return 1; }
    echo "plugin sees chips: $(echo "$out" | grep -o '"name":"gpiochip[0-9]*","label":"[^"]*"' | paste -sd' ')"
    # Hostile code in the GPIO plugin's own sandbox: the running launcher's argv with the plugin program replaced
    # by a probe (own cgroup name, no report pipe).
    local pid; pid=$(pgrep -f -o 'ela-sandbox --name gpio ')
    [ -n "$pid" ] || { echo "no gpio sandbox launcher running"; return 1; }
    mapfile -d '' -t args < /proc/$pid/cmdline
    for ((i = 0; i < ${#args[@]}; i++)); do
        a=${args[i]}
        [ "$a" = -- ] && break
        case $a in
            --report-fd) i=$((i + 1)); continue ;;
            --name) argv+=(--name gpio-probe); i=$((i + 1)); continue ;;
        esac
        argv+=("$a")
    done
    echo "probe policy: ${argv[*]:1}"
    out=$("${argv[@]}" -- /bin/sh -c "
        echo \"uid \$(id -u), /dev: \$(ls /dev | tr '\n' ' ')\"
        gpioinfo ${CHIPDEV[ela-sim-outputs]} | head -2 || exit 10
        if (: < $ROGUE_DEV); then echo 'opened $ROGUE_DEV'; exit 11; fi
        echo 'cannot open $ROGUE_DEV (not in the sandbox)'
        if gpioinfo ${CHIPDEV[$ROGUE_LABEL]} >/dev/null 2>&1; then echo 'gpioinfo reached the rogue chip'; exit 12; fi
        if mknod /tmp/rogue c $(tr ':' ' ' < /sys/bus/gpio/devices/${CHIPDEV[$ROGUE_LABEL]}/dev) 2>/dev/null; then echo 'made a node for it'; exit 13; fi
        echo 'cannot make a node for it either (mknod $(cat /sys/bus/gpio/devices/${CHIPDEV[$ROGUE_LABEL]}/dev) refused)'
        exit 0" 2>&1); local rc=$?
    echo "$out"
    [ $rc = 0 ]
}
check "the GPIO plugin cannot open a gpiochip the board does not grant" rogue_chip_refused

[ -n "${FORCE_FAIL:-}" ] && check "ela_board_forcefail: a check that fails" false
finish 0
