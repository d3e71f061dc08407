# rxswim agent image.
#   docker build -t rxswim .
#   docker run --rm --network host rxswim agent --node a --bind 127.0.0.1:7946 --http 127.0.0.1:8946
# Without arguments it runs the 4-agent demo cluster (`rxswim cluster --size 4`).
# deploy/docker-compose.yml runs the demo with Prometheus and Grafana.

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY machines ./machines
RUN npm run build

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
# the unprivileged user of the node image
USER node
EXPOSE 7946/tcp 7946/udp 8946/tcp
# The HTTP API the health check asks; set it to wherever the agent's --http listens.
ENV RXSWIM_HEALTH_URL=http://127.0.0.1:8946/v1/members
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.RXSWIM_HEALTH_URL,{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["cluster", "--size", "4"]
