/**
 * @module
 * Growable big-endian binary writer and bounds-checked reader for peer messages. Integers up to
 * 2^53 (indexes, terms, byte offsets) travel as two u32 halves.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TWO_32 = 2 ** 32;

export class BinaryWriter {
  private bytes: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initialBytes = 256) {
    this.bytes = new Uint8Array(initialBytes);
    this.view = new DataView(this.bytes.buffer);
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

  string(value: string): void {
    this.bytesWithLength(encoder.encode(value));
  }

  finish(): Uint8Array {
    return this.bytes.subarray(0, this.length);
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
