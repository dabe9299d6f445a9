/**
 * @module
 * Micro-benchmark of the RESP hot path (not a test). Run manually:
 *
 *   deno run tests/unit/resp/resp_bench.ts
 *
 * Prints commands/s parsed for a pipelined `SET key:<n> <value>` stream fed in
 * socket-sized chunks, plus encoder and reply-scanner throughput.
 */

import { RequestParser } from "../../../src/resp/request_parser.ts";
import { encodeCommand, ReplyWriter } from "../../../src/resp/reply_writer.ts";
import { ReplyScanner } from "../../../src/resp/reply_scanner.ts";

const COMMANDS_PER_STREAM = 20_000;
const CHUNK_BYTES = 64 * 1024;
const RUN_MS = 2000;

function pipelinedSetStream(valueBytes: number): Uint8Array {
  const value = "x".repeat(valueBytes);
  const parts = Array.from(
    { length: COMMANDS_PER_STREAM },
    (_, i) => encodeCommand(["SET", `key:${i}`, value]),
  );
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function measure(name: string, unit: string, run: () => number): void {
  for (let i = 0; i < 3; i++) run(); // warm up the JIT
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < RUN_MS) count += run();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${name.padEnd(44)} ${
      Math.round(count / seconds).toLocaleString("en-US").padStart(12)
    } ${unit}/s`,
  );
}

function benchParse(valueBytes: number, inline: boolean): void {
  const stream = inline
    ? new TextEncoder().encode(
      Array.from({ length: COMMANDS_PER_STREAM }, (_, i) =>
        `SET key:${i} ${"x".repeat(valueBytes)}\r\n`)
        .join(""),
    )
    : pipelinedSetStream(valueBytes);
  const kind = inline ? "inline" : "multibulk";
  measure(`parse ${kind} SET, ${valueBytes}-byte values`, "commands", () => {
    const parser = new RequestParser();
    let commands = 0;
    for (let at = 0; at < stream.length; at += CHUNK_BYTES) {
      parser.push(stream.subarray(at, at + CHUNK_BYTES));
      while (parser.next() !== null) commands++;
    }
    if (commands !== COMMANDS_PER_STREAM) throw new Error(`parsed ${commands}`);
    return commands;
  });
}

function benchWriter(): void {
  const writer = new ReplyWriter();
  const value = new TextEncoder().encode("x".repeat(16));
  measure("write replies (+OK, :n, $16 bulk, *2 header)", "replies", () => {
    for (let i = 0; i < 10_000; i++) {
      writer.writeSimpleString("OK");
      writer.writeInteger(i);
      writer.writeBulk(value);
      writer.writeArrayHeader(2);
    }
    writer.reset();
    return 40_000;
  });
  const key = new TextEncoder().encode("key:12345");
  measure("writer.writeCommand SET key <16 bytes>", "commands", () => {
    for (let i = 0; i < 10_000; i++) writer.writeCommand(["SET", key, value]);
    writer.reset();
    return 10_000;
  });
  measure("encodeCommand SET key <16 bytes>", "commands", () => {
    for (let i = 0; i < 10_000; i++) encodeCommand(["SET", key, value]);
    return 10_000;
  });
}

function benchScanner(): void {
  const frames = [
    "+OK\r\n",
    "$16\r\nxxxxxxxxxxxxxxxx\r\n",
    ":12345\r\n",
    "*2\r\n$1\r\na\r\n:1\r\n",
  ];
  const stream = new TextEncoder().encode(
    Array.from({ length: COMMANDS_PER_STREAM }, (_, i) => frames[i % frames.length]).join(""),
  );
  measure("scan replies (+OK, $16, :n, *2 mixed)", "frames", () => {
    const scanner = new ReplyScanner();
    let count = 0;
    for (let at = 0; at < stream.length; at += CHUNK_BYTES) {
      scanner.push(stream.subarray(at, at + CHUNK_BYTES));
      while (scanner.next() !== null) count++;
    }
    return count;
  });
}

benchParse(16, false);
benchParse(100, false);
benchParse(1000, false);
benchParse(16, true);
benchWriter();
benchScanner();
