# syntax=docker/dockerfile:1
# fedsim coordinator: `fedsim run <config.yaml> --distributed` against Redis (REDIS_URL) and S3.
# Build from the repository root:
#   docker build -f infra/docker/coordinator.Dockerfile -t fedsim-coordinator .
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first so the dependency layer is cached until a package.json or the lockfile changes.
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

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    FEDSIM_METRICS_HOST=0.0.0.0 \
    FEDSIM_METRICS_PORT=9464
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/libs/fl/package.json ./libs/fl/
COPY --from=build /app/libs/fl/dist ./libs/fl/dist
COPY --from=build /app/libs/runtime/package.json ./libs/runtime/
COPY --from=build /app/libs/runtime/dist ./libs/runtime/dist
COPY --from=build /app/libs/native-kernels ./libs/native-kernels
COPY --from=build /app/apps/coordinator/package.json ./apps/coordinator/
COPY --from=build /app/apps/coordinator/dist ./apps/coordinator/dist
COPY --from=build /app/configs ./configs
# results go to ./runs/<run-id>/ (a volume in compose, an emptyDir or PVC in Kubernetes)
RUN mkdir -p /app/runs && chown node:node /app/runs
USER node
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.FEDSIM_METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "apps/coordinator/dist/cli.js"]
CMD ["run", "configs/smoke-synthetic.yaml", "--distributed"]
