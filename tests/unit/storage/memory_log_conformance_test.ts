import { MemoryLogDisk, MemoryLogStore } from "../../../src/storage/memory_log.ts";
import { logStoreConformance } from "./log_store_conformance.ts";

logStoreConformance("memory log", () => {
  const disk = new MemoryLogDisk();
  return Promise.resolve({
    async open() {
      const log = new MemoryLogStore(disk);
      await log.open();
      return log;
    },
    cleanup: () => Promise.resolve(),
  });
});
