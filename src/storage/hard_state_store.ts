/**
 * Raft hard state (term, vote, commit index) in `<dir>/hard_state.json`, replaced
 * atomically and checksummed: a damaged file is a loud error, never a silent reset
 * to term 0 (which could let this node vote twice in a term).
 *
 * @module
 */

import { join } from "node:path";
import { AtomicFile } from "./atomic_file.ts";
import { decodeChecksummedJson, encodeChecksummedJson } from "./checksummed_json.ts";
import type { HardState, HardStateStore } from "./types.ts";

export const HARD_STATE_FILE_NAME = "hard_state.json";

export class FileHardStateStore implements HardStateStore {
  readonly #file: AtomicFile;

  constructor(dir: string) {
    this.#file = new AtomicFile(join(dir, HARD_STATE_FILE_NAME));
  }

  get path(): string {
    return this.#file.path;
  }

  async load(): Promise<HardState | undefined> {
    const bytes = await this.#file.read();
    if (bytes === undefined) return undefined;
    const fields = decodeChecksummedJson(bytes, `hard state ${this.path}`);
    const state = {
      term: fields.term,
      votedFor: fields.votedFor,
      commitIndex: fields.commitIndex,
    };
    for (const [name, value] of Object.entries(state)) {
      if (!isCount(value)) throw new Error(`hard state ${this.path}: bad ${name} ${value}`);
    }
    return state as HardState;
  }

  async save(state: HardState): Promise<void> {
    for (const [name, value] of Object.entries(state)) {
      if (!isCount(value)) throw new Error(`hard state: bad ${name} ${value}`);
    }
    // Fixed key order: the checksum covers the serialized fields.
    const { term, votedFor, commitIndex } = state;
    await this.#file.write(encodeChecksummedJson({ term, votedFor, commitIndex }));
  }
}

/** In-memory hard state for simulation; `save` is "durable" at once. */
export class MemoryHardStateStore implements HardStateStore {
  #state: HardState | undefined;

  load(): Promise<HardState | undefined> {
    return Promise.resolve(this.#state);
  }

  save(state: HardState): Promise<void> {
    this.#state = { ...state };
    return Promise.resolve();
  }
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
