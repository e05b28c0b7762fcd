#!/usr/bin/env bash
# Builds the real Dockerfile and runs the image's own command, on a machine with no Docker engine and no
# registry access (npm run test:docker; not part of npm test).
#   1. debootstrap --variant=minbase bookworm into a cache dir (once), copy this machine's node, npm and CA bundle
#      in, and import it as a local base image (podman import) with NODE_EXTRA_CA_CERTS set;
#   2. podman build --isolation=chroot --build-arg BASE=<that image> (the real Dockerfile, npm ci inside);
#   3. podman create + podman mount, then chroot into the image's filesystem as its USER, in its WORKDIR, with its
#      ENV, and run its CMD (running containers does not work here: setrlimit is refused);
#   4. check GET /readyz, one TF Serving and one CTR prediction over REST and one Predict over gRPC (loopback),
#      then SIGTERM and expect exit status 0; then `distill --quick` in the image; print the image's size.
# Needs root, debootstrap and podman (apt-get install -y debootstrap podman; installed when missing).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
source "$REPO/scripts/use-node.sh" # the image's node is this one: Node 22 (.nvmrc)
CACHE="${CTR_DOCKER_CACHE:-$HOME/.cache/ctr-serve-docker}"
ROOTFS="$CACHE/bookworm-minbase"
BASE_IMAGE="localhost/ctr-serve-base:bookworm-node$(node -p 'process.versions.node')"
IMAGE="localhost/ctr-serve:test"
PORT="${CTR_DOCKER_PORT:-18501}"
GRPC_PORT="${CTR_DOCKER_GRPC_PORT:-18500}"
FIXTURE="$REPO/../shared/tf-fixtures/tfserving/saved_model_half_plus_two_cpu"
log() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then echo "test-docker.sh needs root (debootstrap, podman mount, chroot)" >&2; exit 1; fi
if ! command -v debootstrap >/dev/null || ! command -v podman >/dev/null; then
  log "installing debootstrap and podman"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap podman
fi

if [ ! -x "$ROOTFS/usr/bin/apt-get" ]; then
  log "debootstrap --variant=minbase bookworm -> $ROOTFS"
  mkdir -p "$CACHE"
  MIRROR="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
  debootstrap --variant=minbase bookworm "$ROOTFS.tmp" "${MIRROR:-http://deb.debian.org/debian}"
  mv "$ROOTFS.tmp" "$ROOTFS"
fi

if ! podman image exists "$BASE_IMAGE"; then
  log "base image $BASE_IMAGE: minbase + this machine's node $(node -v), npm and CA bundle"
  NODE_BIN="$(readlink -f "$(command -v node)")"
  NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  mkdir -p "$ROOTFS/usr/local/bin" "$ROOTFS/usr/local/lib/node_modules" "$ROOTFS/etc/ssl/certs"
  cp "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
  rm -rf "$ROOTFS/usr/local/lib/node_modules/npm"
  cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
  tar -C "$ROOTFS" -c . | podman import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null
fi

log "podman build --isolation=chroot --build-arg BASE=$BASE_IMAGE"
podman build --isolation=chroot --format docker --build-arg "BASE=$BASE_IMAGE" -t "$IMAGE" "$REPO"

CID="$(podman create "$IMAGE")"
MNT="$(podman mount "$CID")"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  umount "$MNT/proc" 2>/dev/null || true
  umount "$MNT/dev" 2>/dev/null || true
  podman umount "$CID" >/dev/null 2>&1 || true
  podman rm -f "$CID" >/dev/null 2>&1 || true
}
trap cleanup EXIT

inspect() { podman image inspect --format "$1" "$IMAGE"; }
USER_NAME="$(inspect '{{.Config.User}}')"
WORKDIR="$(inspect '{{.Config.WorkingDir}}')"
mapfile -t CMD < <(inspect '{{range .Config.Cmd}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t ENVS < <(inspect '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
log "image: USER=$USER_NAME WORKDIR=$WORKDIR CMD=${CMD[*]} HEALTHCHECK=$(inspect '{{.Config.Healthcheck.Test}}')"

# What a mounted model repository would add: the TF Serving example model, beside whatever models/ baked in.
if [ -d "$FIXTURE" ]; then cp -a "$FIXTURE" "$MNT/models/half_plus_two"; fi
# No CTR model baked in (models/ is empty until the distillation has run): mount the reference student instead.
if [ ! -d "$MNT/models/ctr-student" ] && [ -d "$REPO/../shared/bench-reference" ]; then
  (cd "$REPO" && node --import tsx -e "import('./test/helpers/reference-model.ts').then((m) => m.writeReferenceStudent(process.argv[1] + '/1'))" "$MNT/models/ctr-student")
fi
chmod -R a+rX "$MNT/models"
mount -t proc proc "$MNT/proc"
mount --bind /dev "$MNT/dev"

if node -e "fetch('http://127.0.0.1:$PORT/').then(() => process.exit(0), () => process.exit(1))"; then
  echo "port $PORT already answers HTTP: set CTR_DOCKER_PORT (and CTR_DOCKER_GRPC_PORT) to free ports" >&2
  exit 1
fi
log "chroot: ${CMD[*]} --rest_api_port=$PORT --port=$GRPC_PORT (as $USER_NAME)"
chroot --userspec="$USER_NAME:$USER_NAME" "$MNT" /usr/bin/env -i "${ENVS[@]}" HOME="$WORKDIR" \
  /bin/sh -c 'cd "$0" && exec "$@"' "$WORKDIR" "${CMD[@]}" "--rest_api_port=$PORT" "--port=$GRPC_PORT" &
SERVER_PID=$!

for _ in $(seq 1 120); do
  if node -e "fetch('http://127.0.0.1:$PORT/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server exited before it was ready" >&2; exit 1; }
  sleep 1
done
log "GET /readyz"
node -e "fetch('http://127.0.0.1:$PORT/readyz').then(async (r) => { console.log(r.status, await r.text()); process.exit(r.ok ? 0 : 1); })"

if [ -d "$FIXTURE" ]; then
  log "POST /v1/models/half_plus_two:predict {\"instances\":[[1.0],[2.0],[5.0]]}"
  node -e "
    fetch('http://127.0.0.1:$PORT/v1/models/half_plus_two:predict', { method: 'POST', body: '{\"instances\":[[1.0],[2.0],[5.0]]}' })
      .then((r) => r.text())
      .then((t) => { console.log(t); const p = JSON.parse(t).predictions; process.exit(JSON.stringify(p) === '[[2.5],[3],[4.5]]' ? 0 : 1); });"
fi
if [ -d "$MNT/models/ctr-student" ]; then
  log "POST /v1/ctr:predict"
  node -e "
    fetch('http://127.0.0.1:$PORT/v1/ctr:predict', { method: 'POST',
      body: JSON.stringify({ requests: [{ id: 'u1', history: [5, 17, 230], candidates: [11, 42, 7] }], top_k: 2 }) })
      .then(async (r) => { const t = await r.text(); console.log(r.status, t); process.exit(r.ok && JSON.parse(t).results[0].scores.length === 3 ? 0 : 1); });"
fi

if [ -d "$FIXTURE" ]; then
  log "gRPC tensorflow.serving.PredictionService/Predict half_plus_two x=[1,2,5] on port $GRPC_PORT"
  # The test client (test/helpers/grpc-client.ts) is built from protos/ by @grpc/proto-loader, as a TF Serving
  # client would build one; TF Serving's README: y = 0.5x + 2.
  (cd "$REPO" && node --import tsx -e "
    import('./test/helpers/grpc-client.ts').then(async ({ grpcClients }) => {
      const c = grpcClients('127.0.0.1:$GRPC_PORT');
      const x = { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 3 }] }, float_val: [1, 2, 5] };
      const r = await c.prediction('Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x } });
      const s = await c.model('GetModelStatus', { model_spec: { name: 'half_plus_two' } });
      c.close();
      console.log(JSON.stringify(r.outputs.y.float_val), JSON.stringify(s.model_version_status));
      process.exit(JSON.stringify(r.outputs.y.float_val) === '[2.5,3,4.5]' ? 0 : 1);
    });")
fi

log "SIGTERM: the server should finish and exit 0"
kill -TERM "$SERVER_PID"
STATUS=0
wait "$SERVER_PID" || STATUS=$?
SERVER_PID=""
echo "exit status $STATUS"
[ "$STATUS" = 0 ]

# Training is in the image too (src/training; tfjs-core's gradients from its ES modules, which the Dockerfile keeps).
log "chroot: node bin/ctr-serve.js distill --quick --out /tmp/distill (as $USER_NAME)"
chroot --userspec="$USER_NAME:$USER_NAME" "$MNT" /usr/bin/env -i "${ENVS[@]}" HOME=/tmp \
  /bin/sh -c 'cd "$0" && node bin/ctr-serve.js distill --quick --out /tmp/distill 2>/dev/null | tail -3 \
    && test -f /tmp/distill/ctr-student/1/frozen_graph.pb' "$WORKDIR"
log "docker image test passed: $IMAGE $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}') (base $BASE_IMAGE $(podman image inspect --format '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}'))"
