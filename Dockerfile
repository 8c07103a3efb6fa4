# syntax=docker/dockerfile:1
# splitdns: one image with the operator, the DNS server and the splitdns CLI.
#
#   docker build -t splitdns:dev .
#
#   operator:    docker run splitdns:dev operator --help           (ENTRYPOINT is the splitdns CLI)
#   CLI:         docker run -v $PWD/samples:/m splitdns:dev validate /m
#   DNS server:  docker run --entrypoint node splitdns:dev /app/dist/dns-server/main.js --help
#
# The base is pinned by tag (Node 24 LTS on Debian trixie, slim). For reproducible builds pin the
# digest too, e.g. NODE_IMAGE=node:24.20.0-trixie-slim@sha256:<digest> (README, "The image").

ARG NODE_IMAGE=node:24.20.0-trixie-slim

# --- build: all dependencies, compile TypeScript to dist/ ------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the package's "prepare" script builds, and the sources are not copied yet;
# the build runs explicitly below. No dependency needs an install script to build.
RUN npm ci --ignore-scripts --no-fund --no-audit
COPY tsconfig.json tsconfig.build.json ./
COPY dns-server ./dns-server
COPY kube ./kube
COPY operator ./operator
RUN npm run build

# --- deps: production dependencies only ------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-fund --no-audit && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
# crds/: the CLI's offline validation reads the CRD schemas; samples/: `splitdns serve` demo data.
COPY crds ./crds
COPY samples ./samples
COPY --from=build /src/dist ./dist
# The official image's unprivileged "node" user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 5353/udp 5353/tcp 8080/tcp 8081/tcp
ENTRYPOINT ["node", "/app/bin/splitdns.js"]
CMD ["--help"]
