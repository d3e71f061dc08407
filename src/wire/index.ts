// Public surface of the wire layer: byte-compatible memberlist 0.2.2 encoding, plus
// the cluster labels of memberlist 0.3.

export * from './types.js';

export {
  MsgpackReader,
  MsgpackWriter,
  MsgpackMap,
  MsgpackExt,
  encodeMsgpack,
  decodeMsgpack,
  DEFAULT_MAX_DEPTH,
} from './msgpack.js';
export type { EncodableValue, DecodedValue } from './msgpack.js';

export {
  encodeMessage,
  decodeMessage,
  readMessageBody,
  encodePushPullHeader,
  readPushPullHeader,
  decodePushPullHeader,
  encodePushNodeState,
  readPushNodeState,
  decodePushNodeState,
  encodeUserMsgHeader,
  readUserMsgHeader,
  decodeUserMsgHeader,
  encodeCompressBody,
  readCompressBody,
  decodeCompressBody,
} from './messages.js';
export type { EncodableMessage } from './messages.js';

export { lzwCompress, lzwDecompress, DEFAULT_MAX_LZW_OUTPUT } from './lzw.js';

export {
  encodeCompound,
  decodeCompound,
  MAX_COMPOUND_PARTS,
  MAX_COMPOUND_PART_LEN,
  COMPOUND_HEADER_OVERHEAD,
  COMPOUND_PART_OVERHEAD,
} from './compound.js';

export {
  encryptPayload,
  decryptPayload,
  encryptedLength,
  validateKeyring,
  ENCRYPTION_OVERHEAD_V0,
  ENCRYPTION_OVERHEAD_V1,
} from './crypto.js';
export type { EncryptionVersion } from './crypto.js';

export {
  encodePacket,
  decodePacket,
  compressMessage,
  decompressMessage,
  addCrc,
  LZW_ALGO,
  CRC_OVERHEAD,
  MAX_PACKET_DEPTH,
  MIN_COMPRESSIBLE,
  MAX_PACKET_DECOMPRESSED,
} from './packet.js';
export type { EncodePacketOptions, DecodePacketOptions, DecodedPacket } from './packet.js';

export {
  encodeStream,
  encodeStreamMessage,
  encryptStream,
  tryDecodeStream,
  MAX_PUSH_STATE_BYTES,
  STREAM_ENCRYPT_HEADER_SIZE,
  DEFAULT_MAX_STREAM_BYTES,
} from './stream.js';
export type { EncodeStreamOptions, DecodeStreamOptions, StreamDecodeResult } from './stream.js';

export {
  addLabelHeader,
  labelHeader,
  labelBytes,
  labelOverhead,
  readLabelHeader,
  stripPacketLabel,
  checkLabel,
  HAS_LABEL_MSG,
  LABEL_MAX_SIZE,
} from './label.js';
export type { LabelPolicy, LabelRead, LabelStrip } from './label.js';
