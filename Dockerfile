# The worker image (docker-compose.yml builds it). Runs src/worker-main.ts compiled, with the
# workflow bundle prebuilt so a worker start does not run webpack.

FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source when no prebuilt binary matches the platform.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# A named volume mounted on /data starts as a copy of this directory, owner included, so the
# non-root user can write its data dir.
RUN mkdir -p /data && chown node:node /data
USER node
CMD ["node", "--max-semi-space-size=1", "dist/src/worker-main.js"]
