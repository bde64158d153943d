#!/usr/bin/env bash
# `make run`: the local devnet. ela-regtest (a regtest ELA chain) on loopback, the agent on the sim board syncing
# from it, the device DID published and mined in. Ctrl-C stops everything this script started.
set -euo pipefail
bin=$1
state=$2
mkdir -p "$state/regtest" "$state/run"
rm -f "$state/regtest/p2p.port"

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$bin/ela-regtest" run --data-dir "$state/regtest" --p2p-port 0 --control-socket "$state/run/regtest.sock" \
  > "$state/regtest.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$state/regtest/p2p.port" ] && break; sleep 0.1; done
[ -s "$state/regtest/p2p.port" ] || { echo "ela-regtest did not start; see $state/regtest.log"; exit 1; }
port=$(cat "$state/regtest/p2p.port")

# A local mosquitto on a free loopback port for the MQTT bridge (stopped with everything else).
mqtt_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$state/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence false
log_dest file $state/mosquitto.log
CONF
/usr/sbin/mosquitto -c "$state/mosquitto.conf" &
pids+=($!)

# A local Tox bootstrap node + TCP relay (Debian's tox-bootstrapd) for the carrier; its DHT key is read from its log.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
tox_udp=$(free_port)
tox_tcp=$(free_port)
mkdir -p "$state/tox"
cat > "$state/tox/bootstrapd.conf" <<CONF
port = $tox_udp
keys_file_path = "$state/tox/bootstrapd.keys"
pid_file_path = "$state/tox/bootstrapd.pid"
enable_ipv6 = false
enable_ipv4_fallback = true
enable_lan_discovery = false
enable_tcp_relay = true
tcp_relay_ports = [$tox_tcp]
enable_motd = true
motd = "ela-agent devnet"
bootstrap_nodes = ()
CONF
/usr/bin/tox-bootstrapd --config="$state/tox/bootstrapd.conf" --foreground --log-backend=stdout > "$state/tox/bootstrapd.log" 2>&1 &
pids+=($!)
tox_key=""
for _ in $(seq 1 100); do
  tox_key=$(sed -n 's/.*Public Key: \([0-9A-Fa-f]\{64\}\).*/\1/p' "$state/tox/bootstrapd.log" | head -1)
  [ -n "$tox_key" ] && break
  sleep 0.1
done
[ -n "$tox_key" ] || { echo "tox-bootstrapd did not start; see $state/tox/bootstrapd.log"; exit 1; }

cat > "$state/agent.toml" <<TOML
# Written by scripts/devnet.sh for \`make run\`.
[agent]
board = "sim"
[identity]
protection = "machine-secret"
[spv]
network = "regnet"
peers = ["127.0.0.1:$port"]
confirmations = 6
[plugins]
enable = ["gpio", "sensors", "mqtt", "carrier"]
[mqtt]
broker = "mqtt://127.0.0.1:$mqtt_port"
forward = ["sensors.reading", "gpio.edge"]
[carrier]
udp = true
[[carrier.bootstrap]]
host = "127.0.0.1"
port = $tox_udp
public_key = "$tox_key"
[[carrier.relay]]
host = "127.0.0.1"
port = $tox_tcp
public_key = "$tox_key"
TOML

"$bin/ela-agent" --foreground --board sim --state-dir "$state/lib" --runtime-dir "$state/run" \
  --config "$state/agent.toml" &
pids+=($!)
sock="$state/run/control.sock"
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done

# Publish the device DID once the agent has reached the chain, then mine it six blocks deep.
for _ in $(seq 1 100); do
  phase=$("$bin/elactl" spv status --json --socket "$sock" 2>/dev/null | sed -n 's/.*"phase": "\(.*\)".*/\1/p')
  [ "$phase" = "synced" ] && break
  sleep 0.2
done
did=$("$bin/elactl" identity show --json --socket "$sock" | sed -n 's/^  "did": "\(.*\)",/\1/p')
if "$bin/elactl" did publish --socket "$sock"; then
  sleep 0.5
  "$bin/ela-regtest" mine 6 --control-socket "$state/run/regtest.sock" >/dev/null
  sleep 1
fi
# The sim board's plugins (gpio, sensors), the MQTT bridge and the carrier start with the agent; wait until all answer.
for _ in $(seq 1 100); do
  running=$("$bin/elactl" plugin list --socket "$sock" 2>/dev/null | grep -c ": running" || true)
  [ "$running" -ge 4 ] && break
  sleep 0.2
done
echo
"$bin/elactl" plugin list --socket "$sock"

# A DApp to try the carrier with: its own DID (kept across runs), pinned on the device and granted the sim board's
# GPIO and sensor events. Remote calls from any other DID are refused and audited.
dapp=$state/dapp
[ -f "$dapp/document.json" ] || "$bin/elactl" identity create --dir "$dapp" --json >/dev/null
dapp_did=$(sed -n 's/.*"id":"\(did:elastos:[^"#]*\)".*/\1/p' "$dapp/document.json" | head -1)
"$bin/elactl" peer pin "$dapp/document.json" --socket "$sock" >/dev/null
if ! "$bin/elactl" grant list --socket "$sock" | grep -q "$dapp_did"; then
  "$bin/elactl" grant add "$dapp_did" 'gpio.*' --note "make run DApp" --socket "$sock" >/dev/null
  "$bin/elactl" grant add "$dapp_did" 'sensors.*' --note "make run DApp" --socket "$sock" >/dev/null
fi
address=""
for _ in $(seq 1 100); do
  address=$("$bin/elactl" carrier show --json --socket "$sock" 2>/dev/null | sed -n 's/^  "address": "\(.*\)",\{0,1\}$/\1/p')
  [ -n "$address" ] && break
  sleep 0.2
done

echo
echo "devnet: ela-regtest p2p 127.0.0.1:$port, mosquitto 127.0.0.1:$mqtt_port, tox-bootstrapd udp $tox_udp / tcp $tox_tcp"
echo "device DID:      $did"
if [ -n "$address" ]; then
  "$bin/elactl" carrier show --socket "$sock" | sed 's/^/  /'
else
  echo "carrier address: (not up yet: $bin/elactl carrier status --socket $sock)"
fi
boot="--bootstrap 127.0.0.1:$tox_udp:$tox_key --relay 127.0.0.1:$tox_tcp:$tox_key"
echo
echo "try from a second terminal (Ctrl-C here stops everything this started):"
echo "  # 1. a gated remote call over the carrier, as the DApp $dapp_did"
echo "  $bin/elactl remote call --device ${address:-<address>} --identity $dapp $boot gpio.write '{\"pin\":\"LED0\",\"value\":1}'"
echo "  # 2. a sensor subscription over the carrier"
echo "  $bin/elactl remote subscribe --device ${address:-<address>} --identity $dapp $boot sensors.reading --count 3"
echo "  # 3. live readings and GPIO edges through the MQTT bridge"
echo "  mosquitto_sub -h 127.0.0.1 -p $mqtt_port -t 'ela/#' -v"
echo "more: export ELA_AGENT_SOCKET=$sock; $bin/elactl audit list; $bin/elactl mqtt status; $bin/elactl peer verify $did"
wait
