// Building the UDP packets a node sends (memberlist's sendMsg / rawSendMsgPacket):
// piggyback as much gossip as fits the UDP buffer, frame several messages as
// compounds of at most 255 parts, compress when that is smaller, add a CRC for
// peers that understand it (PMax ≥ 5), seal with the primary key, and put the cluster
// label in front. No socket and no metrics: the owner sends what this returns and
// counts it.
//
// One deliberate difference from memberlist: its budget ignores the first message's
// 2-byte length slot and the CRC, so its packets may overshoot UDPBufferSize by up to
// 7 bytes. Ours never exceed it.
import { DecodeError } from '../errors.js';
import { COMPOUND_HEADER_OVERHEAD, COMPOUND_PART_OVERHEAD, MAX_COMPOUND_PARTS } from '../wire/compound.js';
import { ENCRYPTION_OVERHEAD_V0, ENCRYPTION_OVERHEAD_V1, type EncryptionVersion } from '../wire/crypto.js';
import { labelHeader, labelOverhead, type LabelPolicy } from '../wire/label.js';
import { CRC_OVERHEAD, decodePacket, encodePacket, type DecodedPacket, type DecodePacketOptions } from '../wire/packet.js';
import { encodeLoneAck, readLonePing, type LonePing } from '../wire/lone-ping.js';
import { encodeStream } from '../wire/stream.js';
import type { StreamMessage } from '../wire/types.js';
import type { ProtocolConfig } from '../config.js';
import type { Keyring } from '../security/keyring.js';

/** memberlist sends a CRC only to peers whose PMax is at least this */
export const CRC_MIN_PROTOCOL = 5;

export interface PacketBuilderOptions {
  udpBufferSize: number;
  compress: boolean;
  /** our protocol version: 1 seals with legacy encryption version 0, anything later with version 1 */
  protocolVersion: number;
  /** the key to seal with now, or null when not encrypting (keyring empty or gossipVerifyOutgoing false) */
  sealKey(): Uint8Array | null;
  /** gossip to piggyback: up to `limit` bytes, charging 2 bytes per message (the queues' take) */
  takeGossip(limit: number): Uint8Array[];
  /** whether takeGossip would return anything (O(1)) */
  hasGossip(): boolean;
  /** keys to try on receive (decode only); none: packets are read as plaintext */
  openKeys?(): readonly Uint8Array[];
  /** decode only, default true: with keys, drop packets that do not decrypt */
  verifyIncoming?: boolean;
  /** cluster labels; default: none sent, none accepted */
  labels?: Labels;
}

/** A node's cluster label settings as the wire sees them (node-options.ts resolves them). */
export interface Labels {
  /** put on every packet and every stream we open; empty: no header */
  send: Uint8Array;
  /** what inbound packets and streams opened to us must carry */
  accept: LabelPolicy;
}

export const NO_LABELS: Labels = { send: new Uint8Array(0), accept: { label: new Uint8Array(0), acceptUnlabelled: false } };

export class PacketBuilder {
  private readonly labels: Labels;
  private readonly streamHeaderBytes: Uint8Array;

  constructor(private readonly opts: PacketBuilderOptions) {
    this.labels = opts.labels ?? NO_LABELS;
    this.streamHeaderBytes = labelHeader(this.labels.send);
  }

  /** the label on what we send and on the streams we open (empty: none) */
  get sendLabel(): Uint8Array {
    return this.labels.send;
  }

  /** what the opener of a stream writes before its first message: empty without a label */
  streamHeader(): Uint8Array {
    return this.streamHeaderBytes;
  }

  /** bytes the label header adds to every packet: memberlist's labelOverhead */
  labelOverhead(): number {
    return labelOverhead(this.labels.send);
  }

  /** the encryption version we seal with (memberlist's encryptionVersion()) */
  get encryptionVersion(): EncryptionVersion {
    return this.opts.protocolVersion === 1 ? 0 : 1;
  }

  /** worst-case bytes sealing adds to a packet now: 0 when not encrypting */
  encryptionOverhead(): number {
    if (this.opts.sealKey() === null) return 0;
    return this.encryptionVersion === 0 ? ENCRYPTION_OVERHEAD_V0 : ENCRYPTION_OVERHEAD_V1;
  }

  /**
   * Bytes left for gossip in a packet of udpBufferSize that already carries `used`
   * bytes of messages (each charged its 2-byte compound length slot, as the queues
   * charge gossip), after the compound header, the CRC, encryption and the label. The CRC is
   * charged unless the peer is known to be below protocol 5. Never negative.
   */
  gossipBudget(used = 0, peerProtocolMax?: number): number {
    const crc = peerProtocolMax === undefined || peerProtocolMax >= CRC_MIN_PROTOCOL ? CRC_OVERHEAD : 0;
    return Math.max(0, this.opts.udpBufferSize - COMPOUND_HEADER_OVERHEAD - crc - this.encryptionOverhead() - this.labelOverhead() - used);
  }

  /** whether any gossip is queued */
  hasGossip(): boolean {
    return this.opts.hasGossip();
  }

  /** a packet's worth of gossip alone (what the gossip loop sends); empty when the queues are dry */
  gossip(peerProtocolMax?: number): Uint8Array[] {
    const limit = this.gossipBudget(0, peerProtocolMax);
    return limit > 0 ? this.opts.takeGossip(limit) : [];
  }

  /** the messages plus as much piggybacked gossip as fits (memberlist's sendMsg) */
  withGossip(messages: readonly Uint8Array[], peerProtocolMax?: number): Uint8Array[] {
    // Dry queues (the idle cluster): nothing to ask them, and this runs on every probe.
    if (!this.opts.hasGossip()) return [...messages];
    const used = messages.reduce((n, m) => n + m.length + COMPOUND_PART_OVERHEAD, 0);
    const limit = this.gossipBudget(used, peerProtocolMax);
    // The queues stop at a few bytes anyway; don't ask when not even a header fits.
    const extra = limit > COMPOUND_PART_OVERHEAD ? this.opts.takeGossip(limit) : [];
    return extra.length === 0 ? [...messages] : [...messages, ...extra];
  }

  /**
   * Encode messages into packets: one per 255 messages (a lone message goes bare, more
   * as a compound), compressed when smaller, with a CRC when the peer's PMax ≥ 5,
   * sealed when encrypting. No messages: no packets. `mayCompress` false: not even
   * tried (a probe's answer, see Outbound.reply).
   */
  encode(messages: readonly Uint8Array[], peerProtocolMax: number, mayCompress = true): Uint8Array[] {
    if (messages.length === 0) return [];
    const key = this.opts.sealKey();
    const options = {
      compress: this.opts.compress && mayCompress,
      crc: peerProtocolMax >= CRC_MIN_PROTOCOL,
      label: this.labels.send,
      ...(key ? { keyring: [key], encryptionVersion: this.encryptionVersion } : {}),
    };
    const packets: Uint8Array[] = [];
    for (let i = 0; i < messages.length; i += MAX_COMPOUND_PARTS) {
      packets.push(encodePacket(messages.slice(i, i + MAX_COMPOUND_PARTS), options));
    }
    return packets;
  }

  /** withGossip then encode: what sending messages to a peer puts on the wire */
  build(messages: readonly Uint8Array[], peerProtocolMax: number): Uint8Array[] {
    return this.encode(this.withGossip(messages, peerProtocolMax), peerProtocolMax);
  }

  /**
   * one stream write with the same compression and key (memberlist's encodeAndSendMsg
   * over TCP), sealed with the stream's label: ours on a stream we opened, the opener's
   * on one opened to us
   */
  encodeStream(msg: StreamMessage, streamLabel: Uint8Array = this.labels.send): Uint8Array {
    const key = this.opts.sealKey();
    return encodeStream(msg, {
      compress: this.opts.compress,
      label: streamLabel,
      ...(key ? { keyring: [key], encryptionVersion: this.encryptionVersion } : {}),
    });
  }

  /** options for decodePacket / readStreamMessage on receive */
  decodeOptions(): DecodePacketOptions {
    const keys = this.opts.openKeys?.() ?? [];
    return keys.length > 0 ? { keyring: [...keys], verifyIncoming: this.opts.verifyIncoming ?? true } : {};
  }

  /** what inbound packets, and streams opened to us, must be labelled with */
  get labelPolicy(): LabelPolicy {
    return this.labels.accept;
  }

  /**
   * The datagram's one plain ping, if it is nothing else and we read plaintext (see
   * wire/lone-ping.ts); null: decode it the general way. Never throws.
   */
  lonePing(data: Uint8Array): LonePing | null {
    const keys = this.opts.openKeys?.();
    return readLonePing(data, this.labels.accept, keys !== undefined && keys.length > 0);
  }

  /**
   * The packet answering a ping when nothing rides along: what encode() makes of the
   * lone ack (labelled, uncompressed, no CRC), or null when it must go the general way
   * (sealing with a key, or gossip queued to piggyback).
   */
  loneAck(seqNo: number, payload: Uint8Array | null): Uint8Array | null {
    if (this.opts.hasGossip() || this.opts.sealKey() !== null) return null;
    return encodeLoneAck(this.streamHeaderBytes, seqNo, payload);
  }

  /** take a datagram apart; never throws */
  decode(data: Uint8Array): DecodedPacket {
    try {
      return decodePacket(data, { ...this.decodeOptions(), label: this.labels.accept });
    } catch (e) {
      // decodePacket promises not to throw; if it ever does, the packet is still just dropped.
      return { messages: [], errors: [new DecodeError('malformed', String(e))] };
    }
  }
}

/** a builder that follows a node's settings and its keyring as it changes at runtime */
export function packetBuilderFor(
  config: ProtocolConfig,
  keyring: Keyring,
  takeGossip: (limit: number) => Uint8Array[],
  hasGossip: () => boolean,
  labels: Labels = NO_LABELS,
): PacketBuilder {
  return new PacketBuilder({
    udpBufferSize: config.udpBufferSize,
    compress: config.enableCompression,
    protocolVersion: config.protocolVersion,
    sealKey: () => (keyring.enabled && config.gossipVerifyOutgoing ? keyring.primary! : null),
    openKeys: () => (keyring.enabled ? keyring.keys : []),
    verifyIncoming: config.gossipVerifyIncoming,
    takeGossip,
    hasGossip,
    labels,
  });
}
