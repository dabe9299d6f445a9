/**
 * @module
 * The error a client gets when the Raft core refuses a proposal or a membership change, in
 * RedisRaft's words where it has them.
 */
import type { RaftError } from "../raft/mod.ts";
import { Errors } from "../server/errors.ts";

export function raftErrorReply(error: RaftError): string {
  switch (error.code) {
    case "not-leader":
      return "ERR not leader";
    case "transfer-in-progress":
      return "ERR leader transfer is in progress";
    case "membership-change-pending":
      return "ERR one voting change only";
    case "leader-not-ready":
      return Errors.noLeader;
    case "uncommitted-limit":
      return "ERR try again";
    default:
      return `ERR ${error.message}`;
  }
}
