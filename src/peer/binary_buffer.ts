/**
 * @module
 * Growable big-endian binary writer and bounds-checked reader for peer messages. Integers up to
 * 2^53 (indexes, terms, byte offsets) travel as two u32 halves.
 */
import { concatBytes } from "../resp/bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TWO_32 = 2 ** 32;

export class BinaryWriter {
  private bytes: Uint8Array;
  private view: DataView;
  /** The end of what was written (the headroom included). */
  length: number;
  /** Byte strings written by reference: where in `bytes` each belongs, and its bytes. */
  private readonly references: { at: number; data: Uint8Array }[] = [];

  /**
   * `headroomBytes` are left free before the first byte written, for a frame header that
   * `framedParts` puts there once the length is known: the message is never copied into a frame.
   */
  constructor(initialBytes = 256, private readonly headroomBytes = 0) {
    this.bytes = new Uint8Array(headroomBytes + initialBytes);
    this.view = new DataView(this.bytes.buffer);
    this.length = headroomBytes;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }

  u8(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }

  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value);
    this.length += 4;
  }

  /** A non-negative integer below 2^53. */
  u53(value: number): void {
    this.reserve(8);
    this.view.setUint32(this.length, Math.floor(value / TWO_32));
    this.view.setUint32(this.length + 4, value >>> 0);
    this.length += 8;
  }

  bytesWithLength(value: Uint8Array): void {
    this.u32(value.length);
    this.reserve(value.length);
    this.bytes.set(value, this.length);
    this.length += value.length;
  }

  /**
   * As `bytesWithLength`, but `value` is not copied: `framedParts` hands it out as a part of its
   * own (the caller keeps it unchanged until those parts are written).
   */
  bytesWithLengthByReference(value: Uint8Array): void {
    this.u32(value.length);
    this.references.push({ at: this.length, data: value });
  }

  string(value: string): void {
    this.bytesWithLength(encoder.encode(value));
  }

  /** What was written, as one buffer. */
  finish(): Uint8Array {
    if (this.references.length === 0) return this.bytes.subarray(this.headroomBytes, this.length);
    return concatBytes(this.parts(this.headroomBytes, this.length));
  }

  /**
   * What was written, between the header `headerOf(its length)` (at most the headroom) and
   * `trailer`: the written bytes in place, each byte string written by reference as a part of
   * its own. Written one after the other, the parts are the frame.
   */
  framedParts(headerOf: (length: number) => Uint8Array, trailer: Uint8Array): Uint8Array[] {
    let length = this.length - this.headroomBytes;
    for (const reference of this.references) length += reference.data.length;
    const header = headerOf(length);
    if (header.length > this.headroomBytes) throw new RangeError("frame header exceeds headroom");
    const start = this.headroomBytes - header.length;
    this.bytes.set(header, start);
    this.reserve(trailer.length);
    this.bytes.set(trailer, this.length);
    return this.parts(start, this.length + trailer.length);
  }

  private parts(start: number, end: number): Uint8Array[] {
    const parts: Uint8Array[] = [];
    let from = start;
    for (const { at, data } of this.references) {
      parts.push(this.bytes.subarray(from, at), data);
      from = at;
    }
    parts.push(this.bytes.subarray(from, end));
    return parts;
  }
}

/** Thrown for a truncated or malformed message. */
export class DecodeError extends Error {}

export class BinaryReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(n: number): void {
    if (this.offset + n > this.bytes.length) throw new DecodeError("peer message truncated");
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.offset++];
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u53(): number {
    this.need(8);
    const high = this.view.getUint32(this.offset);
    if (high >= 2 ** 21) throw new DecodeError("integer out of range in peer message");
    const value = high * TWO_32 + this.view.getUint32(this.offset + 4);
    this.offset += 8;
    return value;
  }

  /** A length-prefixed byte string, as a view (no copy). */
  bytesWithLength(maxBytes: number): Uint8Array {
    const length = this.u32();
    if (length > maxBytes) throw new DecodeError(`field of ${length} bytes exceeds ${maxBytes}`);
    this.need(length);
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(maxBytes: number): string {
    return decoder.decode(this.bytesWithLength(maxBytes));
  }

  bool(): boolean {
    const value = this.u8();
    if (value > 1) throw new DecodeError("bad boolean in peer message");
    return value === 1;
  }

  end(): void {
    if (this.remaining !== 0) throw new DecodeError("trailing bytes in peer message");
  }
}
