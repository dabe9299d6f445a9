import { SegmentedLog } from "../../../src/storage/segmented_log.ts";
import { logStoreConformance } from "./log_store_conformance.ts";

for (const segmentMaxBytes of [1024, 64 * 1024 * 1024]) {
  for (const tailCacheMaxBytes of [0, 1024 * 1024]) {
    logStoreConformance(
      `segmented log (segmentMaxBytes ${segmentMaxBytes}, tailCacheMaxBytes ${tailCacheMaxBytes})`,
      async () => {
        const dir = await Deno.makeTempDir({ prefix: "redisraft-log-" });
        return {
          async open() {
            const log = new SegmentedLog({ dir, segmentMaxBytes, tailCacheMaxBytes });
            await log.open();
            return log;
          },
          cleanup: () => Deno.remove(dir, { recursive: true }),
        };
      },
    );
  }
}
