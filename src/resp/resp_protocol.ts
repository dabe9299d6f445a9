/**
 * @module
 * The RESP versions a client connection speaks: 2 until it says `HELLO 3`.
 */

/** A RESP version: the shape replies take (RESP3 adds maps, sets, doubles, nulls, pushes). */
export type RespProtocol = 2 | 3;
