// The live terminal view of `rxswim cluster`: one pane per agent with the member
// list as that agent sees it (read from its HTTP API), its probe RTT, and a scrolling
// event log, with keys that kill, pause, resume, restart and add agents.
//
// Plain ANSI rather than a UI framework: the screen is a fixed grid redrawn whole
// on the alternate screen a few times a second, which needs cursor-home, erase and
// colours (picocolors) and nothing else. Ink would bring React and a layout engine
// for the same picture, and blessed is unmaintained. `renderView` is a pure
// function of the state, so layout is testable without a terminal.
import { emitKeypressEvents } from 'node:readline';
import pc from 'picocolors';
import type { MemberJson, SelfJson } from '../http/server.js';
import { DemoCluster, formatLogLine, type ClusterOptions, type DemoNode, type LogLine, type ProcStatus } from './cluster.js';
import { formatHostPort } from '../membership/address.js';

export interface NodeView {
  node: Pick<DemoNode, 'name' | 'bind' | 'status' | 'pid'>;
  members?: MemberJson[];
  self?: SelfJson;
  /** the last poll failed (paused, killed, not up yet) */
  stale: boolean;
}

export interface ViewState {
  title: string;
  views: NodeView[];
  selected: number;
  log: LogLine[];
  message?: string;
}

/** A piece of text with an optional colour; widths are counted on the plain text. */
type Seg = [text: string, colour?: (s: string) => string];

const STATE_TEXT: Record<string, Seg> = {
  alive: ['alive', pc.green],
  suspect: ['suspect', pc.yellow],
  dead: ['failed', pc.red],
  left: ['left', pc.gray],
};

const STATUS_COLOUR: Record<ProcStatus, (s: string) => string> = {
  starting: pc.cyan,
  running: pc.green,
  paused: pc.yellow,
  killed: pc.red,
  exited: pc.gray,
  leaving: pc.magenta,
};

/** Segments laid out to exactly `width` columns: cut when too long, padded when short. */
function fit(segs: Seg[], width: number): string {
  let out = '';
  let used = 0;
  for (const [text, colour] of segs) {
    if (used >= width) break;
    const t = text.slice(0, width - used);
    used += t.length;
    out += colour ? colour(t) : t;
  }
  return out + ' '.repeat(width - used);
}

// fits an 80-column terminal with the ' keys: ' label
const KEYS_HELP = '1-9/←→ select  k kill -9  p pause  r resume  s restart  a add  q quit';

/** The whole screen as `height` lines of `width` columns (the key line always shown). */
export function renderView(s: ViewState, width: number, height: number): string[] {
  const title = fit([[` ${s.title}`, pc.bold]], width);
  const footer = fit([[' keys: ', pc.bold], [KEYS_HELP], [s.message ? `   ${s.message}` : '', pc.cyan]], width);

  const n = s.views.length;
  const perRow = Math.max(1, Math.min(n, Math.floor(width / 40)));
  const paneW = Math.floor(width / perRow);
  const inner = paneW - 4;
  const memberRows = Math.max(n, ...s.views.map((v) => v.members?.length ?? 0));
  const paneLines: string[] = [];
  for (let row = 0; row * perRow < n; row++) {
    const panes = s.views.slice(row * perRow, (row + 1) * perRow).map((v, j) => pane(v, row * perRow + j, s.selected === row * perRow + j, paneW, inner, memberRows));
    // Panes already have exact widths (with colour codes), so they are joined, not fitted.
    for (let i = 0; i < panes[0]!.length; i++) paneLines.push(panes.map((p) => p[i]).join(''));
  }

  const room = Math.max(0, height - 2);
  const lines = [title, ...paneLines.slice(0, room)];
  const logRows = room - Math.min(room, paneLines.length);
  if (logRows >= 2) {
    lines.push(fit([[' events', pc.bold]], width));
    const recent = s.log.slice(-(logRows - 1));
    for (const l of recent) lines.push(fit(logSegs(l), width));
    for (let i = recent.length; i < logRows - 1; i++) lines.push(' '.repeat(width));
  }
  while (lines.length < height - 1) lines.push(' '.repeat(width));
  lines.push(footer);
  return lines.slice(-height);
}

function logSegs(l: LogLine): Seg[] {
  const text = formatLogLine(l);
  const colour =
    l.source === 'demo'
      ? pc.cyan
      : l.event === 'failed' || l.event === 'killed'
        ? pc.red
        : l.event === 'suspected'
          ? pc.yellow
          : l.event === 'joined' || l.event === 'recovered'
            ? pc.green
            : l.event === 'left'
              ? pc.gray
              : undefined;
  return [[` ${text}`, colour]];
}

/** One agent's box: title, a status line, then its member list. */
function pane(v: NodeView, index: number, selected: boolean, w: number, inner: number, rows: number): string[] {
  const border = selected ? (t: string) => pc.bold(pc.cyan(t)) : pc.dim;
  const st = v.node.status;
  const title: Seg[] = [[`${index + 1} ${v.node.name} `, pc.bold], [st, STATUS_COLOUR[st]], [v.node.pid ? ` pid ${v.node.pid}` : '']];
  const titleLen = title.reduce((a, [t]) => a + t.length, 0);
  const shown = Math.min(titleLen, w - 6);
  const top = border('┌─ ') + fit(title, shown) + border(` ${'─'.repeat(w - 5 - shown)}┐`);
  const body: string[] = [];
  const row = (segs: Seg[]) => body.push(border('│ ') + fit(segs, inner) + border(' │'));

  const rtt = v.self?.probeRtt.recentMs;
  if (st === 'killed' || st === 'exited') {
    row([[st === 'killed' ? 'killed with SIGKILL: press s to restart' : 'not running: press s to restart', pc.red]]);
  } else if (!v.members) {
    row([['waiting for its HTTP API…', pc.dim]]);
  } else {
    const alive = v.members.filter((m) => m.state === 'alive').length;
    row([
      [`rtt ${rtt === null || rtt === undefined ? '-' : `${rtt.toFixed(2)} ms`}`],
      [`  health ${v.self?.healthScore ?? '-'}`],
      [`  ${alive}/${v.members.length} alive`],
      [v.stale ? '  · no answer' : '', pc.yellow],
    ]);
  }
  const members = st === 'killed' || st === 'exited' ? [] : (v.members ?? []);
  const nameW = Math.max(8, ...members.map((m) => m.name.length));
  const addr = (m: MemberJson) => formatHostPort(m.address, m.port);
  const addrW = Math.max(0, ...members.map((m) => addr(m).length)) + 2;
  for (const m of members) {
    const [text, colour] = STATE_TEXT[m.state] ?? [m.state];
    const me = m.name === v.node.name;
    row([[`${me ? '*' : ' '}${m.name.padEnd(nameW)} `, me ? pc.bold : undefined], [addr(m).padEnd(addrW)], [text.padEnd(8), v.stale ? pc.dim : colour], [`inc ${m.incarnation}`, pc.dim]]);
  }
  while (body.length < rows + 1) row([['']]);
  return [top, ...body, border(`└${'─'.repeat(w - 2)}┘`)];
}

// ---- the terminal driver ----

interface PollResult {
  members?: MemberJson[];
  self?: SelfJson;
}

async function poll(http: string): Promise<PollResult | undefined> {
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`http://${http}${path}`, { signal: AbortSignal.timeout(400) });
    if (!res.ok) throw new Error(String(res.status));
    return (await res.json()) as T;
  };
  try {
    const [members, self] = await Promise.all([get<MemberJson[]>('/v1/members'), get<SelfJson>('/v1/self')]);
    return { members: members.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true })), self };
  } catch {
    return undefined;
  }
}

export async function runClusterView(opts: ClusterOptions): Promise<number> {
  const out = process.stdout;
  const log: LogLine[] = [];
  const data = new Map<string, PollResult & { stale: boolean }>();
  let selected = 0;
  let message: string | undefined = 'starting agents…';
  let dirty = true;
  let closing = false;

  const cluster = new DemoCluster(
    opts,
    (l) => {
      log.push(l);
      if (log.length > 1000) log.splice(0, log.length - 1000);
      dirty = true;
    },
    () => (dirty = true),
  );

  const draw = () => {
    dirty = false;
    const views: NodeView[] = cluster.nodes.map((node) => {
      const d = data.get(node.name);
      return { node, ...(d?.members ? { members: d.members } : {}), ...(d?.self ? { self: d.self } : {}), stale: d?.stale ?? false };
    });
    const title = `rxswim demo · ${cluster.nodes.length} agents on ${opts.host}:${opts.basePort}-${opts.basePort + cluster.nodes.length - 1} · profile ${opts.profile}`;
    const lines = renderView({ title, views, selected, log, ...(message ? { message } : {}) }, out.columns ?? 120, out.rows ?? 40);
    out.write(`\x1b[H${lines.join('\x1b[K\r\n')}\x1b[K\x1b[J`);
  };

  // Once only: leaving the alternate screen twice makes tmux move the cursor back
  // up over what was printed after the first time.
  let restored = false;
  const restoreTerminal = () => {
    if (restored) return;
    restored = true;
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    out.write('\x1b[?25h\x1b[?1049l');
  };
  out.write('\x1b[?1049h\x1b[?25l\x1b[2J');
  process.once('exit', restoreTerminal);

  // Poll every agent's API; a paused agent's requests time out and its pane goes stale.
  const pollTimer = setInterval(() => {
    for (const node of cluster.nodes) {
      if (node.status === 'killed' || node.status === 'exited') continue;
      void poll(node.http).then((r) => {
        const prev = data.get(node.name);
        data.set(node.name, r ? { ...r, stale: false } : { ...(prev ?? {}), stale: true });
        if (r && node.status === 'starting') node.status = 'running';
        dirty = true;
      });
    }
  }, 500);
  const drawTimer = setInterval(() => dirty && draw(), 100);
  out.on('resize', draw);

  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((r) => (resolveDone = r));

  const quit = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    message = 'every agent is leaving…';
    draw();
    const code = await cluster.stop();
    clearInterval(pollTimer);
    clearInterval(drawTimer);
    draw();
    restoreTerminal();
    // Let the event loop end: stdin was resumed for keys.
    process.stdin.off('keypress', onKey);
    process.stdin.pause();
    out.off('resize', draw);
    process.stdout.write(`rxswim demo: all agents left\n${log.slice(-20).map(formatLogLine).join('\n')}\n`);
    resolveDone(code);
  };
  const finish = () => void quit();

  function onKey(str: string | undefined, key: { name?: string; ctrl?: boolean } | undefined): void {
    if (closing) return;
    const target = cluster.nodes[selected];
    const k = key?.name ?? str;
    if ((key?.ctrl && k === 'c') || k === 'q') return finish();
    if (str && /^[1-9]$/.test(str) && Number(str) <= cluster.nodes.length) selected = Number(str) - 1;
    else if (k === 'right' || k === 'tab' || k === 'down') selected = (selected + 1) % cluster.nodes.length;
    else if (k === 'left' || k === 'up') selected = (selected + cluster.nodes.length - 1) % cluster.nodes.length;
    else if (k === 'a') {
      if (cluster.nodes.length >= 64) message = 'at most 64 agents';
      else selected = cluster.add().index;
    } else if (target && k === 'k') cluster.kill(target);
    else if (target && k === 'p') cluster.pause(target);
    else if (target && k === 'r') cluster.resume(target);
    else if (target && k === 's') void cluster.restart(target);
    message = `selected ${cluster.nodes[selected]?.name ?? '-'}`;
    draw();
  }

  emitKeypressEvents(process.stdin);
  process.stdin.setRawMode(true);
  process.stdin.resume();
  process.stdin.on('keypress', onKey);
  process.once('SIGINT', finish);
  process.once('SIGTERM', finish);
  for (let i = 0; i < opts.size; i++) {
    cluster.add();
    // Give the first agent a moment to listen, so the others' first join attempt finds it.
    if (i === 0) await new Promise((r) => setTimeout(r, 300));
  }
  message = `selected ${cluster.nodes[selected]?.name}`;
  dirty = true;
  return done;
}
