# syntax=docker/dockerfile:1
# fedsim GPU worker: the CPU worker plus @tensorflow/tfjs-node-gpu on a CUDA runtime image.
# tfjs-node-gpu 4.22 binds libtensorflow 2.9 (CUDA 11.2+ and cuDNN 8); its install script fetches
# libtensorflow, so the build needs network access. Run with FEDSIM_BACKEND=tensorflow-gpu (fails
# fast if the GPU backend cannot load) or auto (falls back to tensorflow/wasm/cpu).
# Build from the repository root:
#   docker build -f infra/docker/worker-gpu.Dockerfile -t fedsim-worker-gpu .
ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04

FROM ${NODE_IMAGE} AS node

# Node from the official image on top of CUDA: one Node build for every image.
FROM ${CUDA_IMAGE} AS cuda-node
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx

FROM cuda-node AS build
ARG TFJS_VERSION=4.22.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
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
# tfjs-node-gpu must match tfjs-core's version (libs/fl/package.json); test/ops checks the pin.
RUN npm install --no-save --omit=dev --no-audit --no-fund "@tensorflow/tfjs-node-gpu@${TFJS_VERSION}"

FROM cuda-node
ENV NODE_ENV=production \
    FEDSIM_METRICS_HOST=0.0.0.0 \
    FEDSIM_METRICS_PORT=9465 \
    FEDSIM_WORKER_POOLS=gpu \
    FEDSIM_BACKEND=tensorflow-gpu \
    FEDSIM_DATA_DIR=/data
RUN groupadd --gid 1000 fedsim && useradd --uid 1000 --gid fedsim --create-home fedsim
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
USER fedsim
EXPOSE 9465
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.FEDSIM_METRICS_PORT||9465)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "apps/worker/dist/main.js"]
