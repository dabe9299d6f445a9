/**
 * @module
 * A connection attempt bounded in time: past the deadline it fails, and a connection that still
 * arrives afterwards is closed at once (nobody will use it).
 */

export function withConnectTimeout<T extends { close(): void }>(
  attempt: Promise<T>,
  ms: number,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    attempt,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => {
        attempt.then((late) => late.close(), () => {});
        reject(new Error("connect timeout"));
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
