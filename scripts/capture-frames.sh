#!/usr/bin/env bash
# Records the request frames real Kafka clients send into test/fixtures/frames/<client>/.
# Needs kcat, /usr/bin/python3 with python3-kafka, the npm dev dependencies (`npm ci`) and the
# interop clients (`npm run install:interop-clients`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f test/clients/node_modules/@platformatic/kafka/package.json ]; then
  echo 'capture-frames: @platformatic/kafka is not installed: run `npm run install:interop-clients` first' >&2
  exit 1
fi
npm run build --silent
port=19092
bootstrap="127.0.0.1:$port"

capture() {
  local client=$1; shift
  rm -rf "test/fixtures/frames/$client"
  node dist/test/tools/record-frames.js --out "test/fixtures/frames/$client" --port "$port" &
  local recorder=$!
  sleep 0.5
  "$@" || echo "warning: $client exited with $?" >&2
  kill "$recorder"; wait "$recorder" 2>/dev/null || true
}

capture kcat sh -c "printf 'k1:hello-1\nk2:hello-2\n' | kcat -P -b $bootstrap -t fixtures -K: -H h=v -X client.id=capture-kcat"
capture kafka-python /usr/bin/python3 scripts/capture/kafka-python-produce.py "$bootstrap"
capture kafkajs node scripts/capture/kafkajs-produce.mjs "$bootstrap"
capture platformatic node scripts/capture/platformatic-produce.mjs "$bootstrap"
find test/fixtures/frames -name '*.bin' | sort
