# The mall-backup operator: one esbuild bundle on distroless Node 22, as non-root, with nothing to write
# on its root file system (the Deployment mounts it read-only).
# Build from the repository root: docker build -t <registry>/mall-backup-operator:<version> .
FROM docker.io/library/node:22.12.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild esbuild
# The whole context (.dockerignore leaves out what the bundle never reads), so no source can be missed.
COPY . .
RUN node scripts/build-operator.js

FROM gcr.io/distroless/nodejs22-debian12:nonroot
COPY --from=build /src/build/operator.cjs /app/operator.cjs
# 65532 is distroless' "nonroot"; the BackupOperator construct runs the pod as the same IDs.
USER 65532:65532
ENV NODE_ENV=production
ENTRYPOINT ["/nodejs/bin/node", "/app/operator.cjs"]
