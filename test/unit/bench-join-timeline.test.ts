// The join timeline's reading of tcpdump's text output (bench/lib/join-timeline.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSegment, timeline, type Segment } from '../../bench/lib/join-timeline.js';

const lines = [
  '1764690000.000100 IP 127.0.158.1.7946 > 127.0.0.1.40000: Flags [P.], seq 1:50, ack 1, win 64, length 49', // someone else's push-pull, before the join
  '1764690001.000000 IP 127.0.0.1.41104 > 127.0.158.40.8946: Flags [P.], seq 1:158, ack 1, win 64, options [nop,nop,TS val 1 ecr 2], length 157',
  '1764690001.005500 IP 127.0.0.1.50840 > 127.0.158.1.7946: Flags [S], seq 4155065055, win 65495, options [mss 65495,sackOK,TS val 3 ecr 0,nop,wscale 7], length 0',
  '1764690001.005520 IP 127.0.158.1.7946 > 127.0.0.1.50840: Flags [S.], seq 3053540879, ack 4155065056, win 65483, length 0',
  '1764690001.007800 IP 127.0.0.1.50840 > 127.0.158.1.7946: Flags [P.], seq 1:173, ack 1, win 64, length 172',
  '1764690001.008900 IP 127.0.158.1.7946 > 127.0.0.1.50840: Flags [P.], seq 1:856, ack 173, win 64, length 855',
  '1764690001.009000 IP 127.0.158.1.7946 > 127.0.0.1.50840: Flags [P.], seq 856:900, ack 173, win 64, length 44',
  '1764690001.040000 IP 127.0.158.40.8946 > 127.0.0.1.41104: Flags [P.], seq 1:171, ack 158, win 64, length 170',
  'listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes',
];

describe('join timeline (bench/lib/join-timeline.ts)', () => {
  it('reads TCP segments from tcpdump -n -tt and nothing else', () => {
    const s = parseSegment(lines[2]!)!;
    assert.deepEqual({ ...s, at: Math.round(s.at * 10) / 10 }, { at: 1764690001005.5, src: '127.0.0.1.50840', dst: '127.0.158.1.7946', flags: 'S', length: 0 });
    assert.equal(parseSegment(lines.at(-1)!), undefined);
  });

  it("splits a join at the request, the joiner's SYN, its state, the seed's reply and the answer", () => {
    const segs = lines.map(parseSegment).filter((x): x is Segment => x !== undefined);
    const t = timeline(segs, '127.0.158.40.8946', '127.0.158.1.7946', 1764690000500);
    assert.deepEqual(t, { apiToDial: 5.5, dialToSent: 2.3, seed: 1.1, replyToAnswer: 31.1, total: 40, replyBytes: 899 });
  });

  it('leaves a phase null when its segment was not captured', () => {
    const segs = lines.slice(0, 5).map(parseSegment).filter((x): x is Segment => x !== undefined);
    const t = timeline(segs, '127.0.158.40.8946', '127.0.158.1.7946', 1764690000500);
    assert.equal(t.seed, null);
    assert.equal(t.total, null);
    assert.equal(t.apiToDial, 5.5);
  });
});
