# syntax=docker/dockerfile:1
# fedsim CPU worker: BullMQ consumers for the train/eval/aggregate queues, configured by the
# environment (REDIS_URL, S3_*, FEDSIM_WORKER_POOLS, FEDSIM_WORKER_CONCURRENCY, FEDSIM_BACKEND, ...).
# Compute runs on the WASM backend with the OpenBLAS training kernels (wasm-blas, built here from
# libs/native-kernels); build with --build-arg WITH_TFJS_NODE=true to add the native TensorFlow
# CPU backend (@tensorflow/tfjs-node, picked first by FEDSIM_BACKEND=auto).
# Build from the repository root:
#   docker build -f infra/docker/worker.Dockerfile -t fedsim-worker .
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG WITH_TFJS_NODE=false
ARG TFJS_VERSION=4.22.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libopenblas-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/fl/package.json libs/fl/
COPY libs/runtime/package.json libs/runtime/
COPY apps/coordinator/package.json apps/coordinator/
COPY apps/worker/package.json apps/worker/
# the optional OpenBLAS addon builds in its install hook, so it needs its sources now
COPY libs/native-kernels libs/native-kernels
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
RUN if [ "$WITH_TFJS_NODE" = "true" ]; then \
      npm install --no-save --omit=dev --no-audit --no-fund "@tensorflow/tfjs-node@${TFJS_VERSION}"; \
    fi

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    FEDSIM_METRICS_HOST=0.0.0.0 \
    FEDSIM_METRICS_PORT=9465 \
    FEDSIM_WORKER_POOLS=default \
    FEDSIM_BACKEND=auto \
    FEDSIM_DATA_DIR=/data
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/libs/fl/package.json ./libs/fl/
COPY --from=build /app/libs/fl/dist ./libs/fl/dist
COPY --from=build /app/libs/runtime/package.json ./libs/runtime/
COPY --from=build /app/libs/runtime/dist ./libs/runtime/dist
COPY --from=build /app/libs/native-kernels ./libs/native-kernels
COPY --from=build /app/apps/worker/package.json ./apps/worker/
COPY --from=build /app/apps/worker/dist ./apps/worker/dist
USER node
EXPOSE 9465
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.FEDSIM_METRICS_PORT||9465)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node is PID 1 and handles SIGTERM itself: running jobs finish, then the process exits.
CMD ["node", "apps/worker/dist/main.js"]
