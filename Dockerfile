# ctr-serve: the TF Serving-compatible CTR model server.
#   docker build -t ctr-serve .                     # models/ baked in at /models
#   docker run -p 8500:8500 -p 8501:8501 ctr-serve    # gRPC on 8500, REST on 8501 (TF Serving's ports)
#   docker run -p 8501:8501 -v $PWD/my-models:/models:ro ctr-serve   # or mount your own model repository
# BASE is overridable so scripts/test-docker.sh can build on a local debootstrap image (no registry pulls there).
ARG BASE=node:22-bookworm-slim

FROM ${BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; tsx is one (the sources run as TypeScript, no build step). The optional
# @tensorflow/tfjs-node downloads libtensorflow at install; where that fails npm leaves it out. The server runs on
# tfjs-wasm either way unless started with --backend=tensorflow (or auto).
# Then what neither `serve` nor `distill` loads is deleted from the tfjs packages: source maps, their compiled
# tests, and the browser bundles (UMD, minified, fesm, es2017, miniprogram). Kept: each package's Node entry
# (dist/*.node.js), tfjs-converter's op lists and tfjs-core's ES modules (src/graph/tfjs/supported-ops.ts,
# src/training/register-gradients.ts read them), the wasm binaries.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
  && find node_modules/@tensorflow \( -name '*.map' -o -name '*_test.js' -o -name '*_test.d.ts' \
    -o -path '*/dist/miniprogram' \
    -o -regex '.*/@tensorflow/[^/]*/dist/tf-[a-z-]*\(\.min\|\.fesm\|\.fesm\.min\|\.es2017\|\.es2017\.min\)?\.js' \) \
    -prune -exec rm -rf {} +

FROM ${BASE}
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --system ctr && useradd --system --gid ctr --home-dir /app --shell /usr/sbin/nologin ctr
COPY --from=deps /app/node_modules ./node_modules
COPY package.json openapi.yaml ./
COPY bin ./bin
COPY src ./src
# TF Serving's and KServe's .proto files: the gRPC services (src/grpc/protos.ts) and the config files' text-proto
# messages (src/config/text-proto.ts).
COPY protos ./protos
# The model repository (TF Serving layout, <name>/<version>/): baked in from models/, or mount over /models.
# With no flags `serve` serves every subdirectory of the repo's models/, which points at /models.
COPY models /models
RUN ln -s /models /app/models
USER ctr
EXPOSE 8500 8501
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8501/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (not npm or a shell), so SIGTERM reaches the server: it stops accepting, finishes
# in-flight requests and exits 0.
CMD ["node", "bin/ctr-serve.js", "serve", "--port=8500", "--rest_api_port=8501", "--rest_api_host=0.0.0.0"]
