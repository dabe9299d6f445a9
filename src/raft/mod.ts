/**
 * Public exports of the pure Raft core.
 *
 * @module
 */

export * from "./types.ts";
export {
  defaultRaftConfig,
  type InjectedBugs,
  noInjectedBugs,
  type RaftConfig,
  type RaftTunables,
  resolveRaftConfig,
} from "./config.ts";
export { RaftNode, type RaftNodeOptions } from "./raft_node.ts";
export { seededRandom } from "./prng.ts";
export {
  decodeMembershipChange,
  encodeMembershipChange,
  type MembershipChange,
} from "./membership_codec.ts";
