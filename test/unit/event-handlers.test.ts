// The agent's event handlers without processes, against Serf's agent
// (cmd/serf/command/agent: event_handler.go ParseEventScript / EventFilter.Invoke /
// Valid, invoke.go's environment, memberEventStdin, streamPayload), and how the
// settings reach the agent's configuration.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, after } from 'node:test';
import type { Member } from '../../src/api.js';
import { loadAgentConfig } from '../../src/cli/agent-config.js';
import {
  filterMatches,
  handlerEnv,
  handlerStdin,
  handlerTakes,
  parseEventHandler,
  serfMemberEventType,
  tagVariable,
  type HandlerEvent,
} from '../../src/cli/event-handlers.js';
import { ConfigError } from '../../src/errors.js';

const member = (name: string, address: string, tags?: Record<string, string>): Member => ({
  name,
  address,
  port: 7946,
  state: 'alive',
  incarnation: 1,
  meta: new Uint8Array(),
  ...(tags ? { tags } : {}),
  vsn: [1, 5, 2, 2, 5, 4],
  stateChangedAt: 0,
});
const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const respond = async () => undefined;
const join_: HandlerEvent = { kind: 'member', type: 'member-join', members: [member('a', '10.0.0.1')] };
const failed: HandlerEvent = { kind: 'member', type: 'member-failed', members: [member('a', '10.0.0.1')] };
const deploy: HandlerEvent = { kind: 'user', name: 'deploy', payload: bytes('v2'), ltime: 7n };
const other: HandlerEvent = { kind: 'user', name: 'other', payload: bytes(''), ltime: 8n };
const load: HandlerEvent = { kind: 'query', name: 'load', payload: bytes('x'), ltime: 3n, respond };
const uptime: HandlerEvent = { kind: 'query', name: 'uptime', payload: bytes(''), ltime: 4n, respond };
const ALL = { join_, failed, deploy, other, load, uptime };

/** which of ALL the handler takes */
function takes(spec: string): string[] {
  const h = parseEventHandler(spec, '--event-handler');
  return Object.entries(ALL)
    .filter(([, e]) => handlerTakes(h, e))
    .map(([k]) => k);
}

describe('parseEventHandler: [filter=]script as Serf parses it', () => {
  const table: Array<[string, string[], string]> = [
    ['./h.sh', ['join_', 'failed', 'deploy', 'other', 'load', 'uptime'], './h.sh'],
    ['*=./h.sh', ['join_', 'failed', 'deploy', 'other', 'load', 'uptime'], './h.sh'],
    ['member-join=./h.sh', ['join_'], './h.sh'],
    ['member-join,member-failed=./h.sh', ['join_', 'failed'], './h.sh'],
    ['member-leave,member-update,member-reap=x', [], 'x'],
    ['user=x', ['deploy', 'other'], 'x'],
    ['user:deploy=x', ['deploy'], 'x'],
    // `user:` with no name is any user event, as in Serf
    ['user:=x', ['deploy', 'other'], 'x'],
    ['query=x', ['load', 'uptime'], 'x'],
    ['query:load=x', ['load'], 'x'],
    ['user:deploy,query:load=x', ['deploy', 'load'], 'x'],
    // split at the first `=` only: the script keeps its own
    ['user=FOO=1 ./h.sh --a=b', ['deploy', 'other'], 'FOO=1 ./h.sh --a=b'],
  ];
  for (const [spec, want, script] of table) {
    it(`${spec} → ${want.join(' ') || 'nothing'}`, () => {
      assert.deepEqual(takes(spec), want);
      assert.equal(parseEventHandler(spec, 'x').script, script);
    });
  }

  it('an unknown kind is a config error naming the setting and the allowed values', () => {
    for (const spec of ['member-joined=x', 'User=x', 'user,members=x', ',user=x', 'FOO=1 ./h.sh']) {
      assert.throws(
        () => parseEventHandler(spec, '--event-handler[1]'),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.field === '--event-handler[1]' &&
          /member-join, member-leave, member-failed, member-update, member-reap, user, query, \*, user:NAME or query:NAME/.test(e.message),
        spec,
      );
    }
  });
  it('an empty script is a config error', () => {
    for (const spec of ['', 'user=', 'user=  ']) assert.throws(() => parseEventHandler(spec, 'h'), (e: unknown) => e instanceof ConfigError && /needs a script/.test(e.message), JSON.stringify(spec));
  });
  it('filterMatches: a user filter never takes a query of the same name, nor the reverse', () => {
    const q: HandlerEvent = { kind: 'query', name: 'deploy', payload: bytes(''), ltime: 1n, respond };
    assert.equal(filterMatches({ kind: 'user', name: 'deploy' }, q), false);
    assert.equal(filterMatches({ kind: 'query', name: 'deploy' }, deploy), false);
  });
});

describe("serfMemberEventType: rxswim's member events by Serf's names", () => {
  it('joined, left, failed, updated, reaped are member-join, -leave, -failed, -update, -reap; suspicion is not an event in Serf', () => {
    assert.deepEqual(
      (['joined', 'left', 'failed', 'updated', 'reaped', 'suspected', 'recovered'] as const).map(serfMemberEventType),
      ['member-join', 'member-leave', 'member-failed', 'member-update', 'member-reap', undefined, undefined],
    );
  });
});

describe("handlerEnv: invoke.go's variables", () => {
  const self = { name: 'web-1', tags: { role: 'web', dc: 'east', 'zone-id': 'a', 'x.y z': 'v' } };
  it('for a member event: SERF_EVENT, SERF_SELF_NAME, SERF_SELF_ROLE and one SERF_TAG_ per own tag, sanitized', () => {
    assert.deepEqual(handlerEnv(self, join_), {
      SERF_EVENT: 'member-join',
      SERF_SELF_NAME: 'web-1',
      SERF_SELF_ROLE: 'web',
      SERF_TAG_ROLE: 'web',
      SERF_TAG_DC: 'east',
      SERF_TAG_ZONE_ID: 'a',
      SERF_TAG_X_Y_Z: 'v',
    });
  });
  it('for a user event also SERF_USER_EVENT and SERF_USER_LTIME', () => {
    const env = handlerEnv({ name: 'n', tags: {} }, deploy);
    assert.deepEqual(env, { SERF_EVENT: 'user', SERF_SELF_NAME: 'n', SERF_SELF_ROLE: '', SERF_USER_EVENT: 'deploy', SERF_USER_LTIME: '7' });
  });
  it('for a query also SERF_QUERY_NAME and SERF_QUERY_LTIME', () => {
    const env = handlerEnv({ name: 'n', tags: {} }, load);
    assert.deepEqual(env, { SERF_EVENT: 'query', SERF_SELF_NAME: 'n', SERF_SELF_ROLE: '', SERF_QUERY_NAME: 'load', SERF_QUERY_LTIME: '3' });
  });
  it('tagVariable: upper case, anything but A-Z 0-9 _ becomes _', () => {
    assert.equal(tagVariable('rack.Unit-2'), 'SERF_TAG_RACK_UNIT_2');
    assert.equal(tagVariable('ü'), 'SERF_TAG__');
  });
});

describe('handlerStdin: what the script reads', () => {
  it('member events: name\\taddr\\trole\\ttags per member, tags k=v joined by commas (sorted)', () => {
    const e: HandlerEvent = {
      kind: 'member',
      type: 'member-join',
      members: [member('a', '10.0.0.1', { role: 'web', dc: 'east' }), member('b', '::1'), member('c', '10.0.0.3', { dc: 'west' })],
    };
    assert.equal(handlerStdin(e).toString(), 'a\t10.0.0.1\tweb\tdc=east,role=web\nb\t::1\t\t\nc\t10.0.0.3\t\tdc=west\n');
  });
  it('a tab or newline inside a field is written as \\t or \\n, as Serf eventClean', () => {
    const e: HandlerEvent = { kind: 'member', type: 'member-update', members: [member('a\tb', '10.0.0.1', { role: 'x\ny' })] };
    assert.equal(handlerStdin(e).toString(), 'a\\tb\t10.0.0.1\tx\\ny\trole=x\\ny\n');
  });
  it('user events and queries: the payload, with a newline added unless it ends in one; empty stays empty', () => {
    assert.equal(handlerStdin(deploy).toString(), 'v2\n');
    assert.equal(handlerStdin({ ...deploy, payload: bytes('a\nb\n') }).toString(), 'a\nb\n');
    assert.equal(handlerStdin(other).length, 0);
    assert.deepEqual([...handlerStdin({ ...load, payload: new Uint8Array([0, 255]) })], [0, 255, 10]);
  });
});

describe('settings: --event-handler (repeatable), RXSWIM_EVENT_HANDLERS (one per line), eventHandlers in a file, --event-handler-timeout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-handlers-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('flags keep their order; the default timeout is 30 s', () => {
    const c = loadAgentConfig({ flags: { node: 'n', eventHandlers: ['member-join=./a.sh', 'user:deploy,query=./b.sh x,y'] } });
    assert.deepEqual(
      c.eventHandlers.map((h) => [h.script, h.filters.map((f) => `${f.kind}:${f.name}`)]),
      [
        ['./a.sh', ['member-join:']],
        ['./b.sh x,y', ['user:deploy', 'query:']],
      ],
    );
    assert.equal(c.eventHandlerTimeout, 30_000);
    assert.deepEqual(loadAgentConfig({ flags: { node: 'n' } }).eventHandlers, []);
  });
  it('the environment gives one handler per line (scripts hold commas and spaces)', () => {
    const c = loadAgentConfig({ env: { RXSWIM_NODE: 'n', RXSWIM_EVENT_HANDLERS: 'user=echo a, b\n\nmember-failed=./f.sh', RXSWIM_EVENT_HANDLER_TIMEOUT: '2s' } });
    assert.deepEqual(c.eventHandlers.map((h) => h.spec), ['user=echo a, b', 'member-failed=./f.sh']);
    assert.equal(c.eventHandlerTimeout, 2000);
  });
  it('a file gives a list or one string', () => {
    const f = join(dir, 'a.yaml');
    writeFileSync(f, 'node: n\neventHandlers:\n  - "member-join=./j.sh"\n  - ./all.sh\neventHandlerTimeout: 500ms\n');
    const c = loadAgentConfig({ file: f });
    assert.deepEqual(c.eventHandlers.map((h) => h.spec), ['member-join=./j.sh', './all.sh']);
    assert.equal(c.eventHandlerTimeout, 500);
    const g = join(dir, 'b.json');
    writeFileSync(g, JSON.stringify({ node: 'n', eventHandlers: 'query:load=./l.sh' }));
    assert.deepEqual(loadAgentConfig({ file: g }).eventHandlers.map((h) => h.script), ['./l.sh']);
  });
  it('errors name the handler as its source spells it', () => {
    const bad = (src: Parameters<typeof loadAgentConfig>[0], field: string, text: RegExp) =>
      assert.throws(() => loadAgentConfig(src), (e: unknown) => e instanceof ConfigError && e.field === field && text.test(e.message), field);
    bad({ flags: { node: 'n', eventHandlers: ['member-join=./a.sh', 'members=./b.sh'] } }, '--event-handler[1]', /"members" must be one of member-join/);
    bad({ flags: { node: 'n', eventHandlers: ['joined=./a.sh'] } }, '--event-handler', /"joined" must be one of/);
    bad({ env: { RXSWIM_NODE: 'n', RXSWIM_EVENT_HANDLERS: 'nope=x' } }, 'RXSWIM_EVENT_HANDLERS', /must be one of/);
    const f = join(dir, 'c.yaml');
    writeFileSync(f, 'node: n\neventHandlers: [1]\n');
    bad({ file: f }, 'c.yaml: eventHandlers[0]', /must be a \[filter=\]script string/);
    bad({ flags: { node: 'n', eventHandlerTimeout: 'soon' } }, '--event-handler-timeout', /duration/);
    bad({ flags: { node: 'n', eventHandlerTimeout: '1' } }, '--event-handler-timeout', /at least 10 ms/);
  });
});
