// A swim-js (npm `swim` 0.6.0) agent for bench/run.ts, with the same small HTTP API
// as an rxswim agent: GET /v1/members, POST /v1/join {"seeds": ["ip:port"]}.
// swim-js binds its UDP socket to the wildcard address; the bench gives every agent
// its own loopback IP with the same port, so bind() is pinned to the agent's IP.
'use strict';
const dgram = require('node:dgram');
const http = require('node:http');
const path = require('node:path');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const host = args.host; // ip:port
const [ip] = host.split(':');
const [httpIp, httpPort] = args.http.split(':');

const origBind = dgram.Socket.prototype.bind;
dgram.Socket.prototype.bind = function bind(port, cb) {
  if (typeof port === 'number') return origBind.call(this, { port, address: ip }, cb);
  return origBind.apply(this, arguments);
};

const Swim = require(path.join(__dirname, 'node_modules', 'swim'));
const num = (k, d) => (args[k] === undefined ? d : Number(args[k]));
const swim = new Swim({
  local: { host },
  codec: 'msgpack',
  interval: num('interval', 1000),
  pingTimeout: num('ping-timeout', 500),
  pingReqTimeout: num('ping-req-timeout', 1000),
  pingReqGroupSize: num('ping-req-group-size', 3),
  suspectTimeout: num('suspect-timeout', 4000),
  disseminationFactor: num('dissemination-factor', 4),
  joinTimeout: num('join-timeout', 2000),
  udp: { maxDgramSize: num('max-dgram-size', 1400) },
});
const STATE = ['alive', 'suspect', 'dead'];
swim.on('error', (e) => console.error(JSON.stringify({ level: 50, msg: String(e && e.message) })));
swim.on('change', (u) => console.log(JSON.stringify({ level: 30, event: STATE[u.state], member: u.host })));

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

swim.bootstrap([], (err) => {
  if (err) {
    console.error(String(err.message || err));
    process.exit(2);
  }
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url.startsWith('/v1/members')) {
      const rows = swim.members(true, true).map((m) => ({ name: m.host, state: STATE[m.state] ?? String(m.state), incarnation: m.incarnation }));
      return send(res, 200, rows);
    }
    if (req.method === 'POST' && req.url === '/v1/join') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const seeds = JSON.parse(body || '{}').seeds || [];
        swim.join(seeds, (e) => (e ? send(res, 502, { error: String(e.message || e) }) : send(res, 200, { contacted: seeds.length })));
      });
      return;
    }
    send(res, 404, { error: 'no route' });
  });
  server.keepAliveTimeout = 1000;
  server.listen(Number(httpPort), httpIp, () => console.log(JSON.stringify({ level: 30, msg: 'swim agent ready', host })));
});
