import { SegmentedLog } from "../../../src/storage/segmented_log.ts";
import { logStoreConformance } from "./log_store_conformance.ts";

for (const segmentMaxBytes of [1024, 64 * 1024 * 1024]) {
  for (const tailCacheMaxBytes of [0, 1024 * 1024]) {
    // fdatasync on the thread pool (a leader) and blocking (a follower), each in two shapes;
    // preallocated zeros ahead of the records in the other two.
    const blocking = (segmentMaxBytes === 1024) === (tailCacheMaxBytes === 0);
    const preallocateBytes = tailCacheMaxBytes === 0 ? 300 : 0;
    logStoreConformance(
      `segmented log (segmentMaxBytes ${segmentMaxBytes}, tailCacheMaxBytes ${tailCacheMaxBytes}, ${
        blocking ? "blocking" : "thread-pool"
      } fdatasync, preallocate ${preallocateBytes})`,
      async () => {
        const dir = await Deno.makeTempDir({ prefix: "redisraft-log-" });
        return {
          async open() {
            const log = new SegmentedLog({
              dir,
              segmentMaxBytes,
              tailCacheMaxBytes,
              blockingSync: () => blocking,
              preallocateBytes,
            });
            await log.open();
            return log;
          },
          cleanup: () => Deno.remove(dir, { recursive: true }),
        };
      },
    );
  }
}
