/** Unit: ReplicaWaits answers when enough members hold the index, at the deadline, or on step-down. */
import assert from "node:assert/strict";
import { ReplicaWaits } from "../../../src/node/replica_waits.ts";

Deno.test("ReplicaWaits: met, timed out, and answered with the last count on step-down", () => {
  const waits = new ReplicaWaits();
  const answers: string[] = [];
  let matches = [5, 3]; // two followers' acknowledged indexes
  const count = (index: number) => matches.filter((m) => m >= index).length;
  const wait = (name: string, targetIndex: number, numReplicas: number, deadlineMs: number) =>
    waits.add(
      {
        clientId: 1,
        targetIndex,
        numReplicas,
        deadlineMs,
        answer: (n) => answers.push(`${name}=${n}`),
      },
      count,
      0,
    );

  wait("met-now", 5, 1, 100);
  wait("later", 5, 2, 100);
  wait("times-out", 9, 2, 50);
  wait("stepdown", 7, 2, 1000);
  assert.deepEqual(answers, ["met-now=1"]);
  assert.equal(waits.size, 3);

  matches = [6, 5];
  waits.check(count, 10);
  assert.deepEqual(answers, ["met-now=1", "later=2"]);
  matches = [8, 6];
  waits.check(count, 60);
  assert.deepEqual(answers.slice(2), ["times-out=0"]);
  matches = []; // a core that stopped leading reports no followers
  waits.answerAll();
  assert.deepEqual(answers.slice(3), ["stepdown=1"], "the count last seen, not the empty one");
  assert.equal(waits.size, 0);
});

Deno.test("ReplicaWaits: a wait added while answering (the client's next WAIT) is kept", () => {
  const waits = new ReplicaWaits();
  const answers: number[] = [];
  let held = 0;
  const count = () => held;
  waits.add(
    {
      clientId: 1,
      targetIndex: 1,
      numReplicas: 1,
      deadlineMs: 100,
      answer: (n) => {
        answers.push(n);
        waits.add(
          {
            clientId: 1,
            targetIndex: 1,
            numReplicas: 2,
            deadlineMs: 100,
            answer: (m) => answers.push(m),
          },
          count,
          0,
        );
      },
    },
    count,
    0,
  );
  held = 1;
  waits.check(count, 1);
  assert.deepEqual(answers, [1]);
  assert.equal(waits.size, 1, "the second wait survives the check that let it in");
  held = 2;
  waits.check(count, 2);
  assert.deepEqual(answers, [1, 2]);
});

Deno.test("ReplicaWaits: a client that leaves takes its waits with it, unanswered", () => {
  const waits = new ReplicaWaits();
  const answers: number[] = [];
  const wait = (clientId: number) =>
    waits.add(
      {
        clientId,
        targetIndex: 9,
        numReplicas: 2,
        deadlineMs: 1e15,
        answer: () => answers.push(clientId),
      },
      () => 0,
      0,
    );
  wait(7);
  wait(7);
  wait(8);
  waits.dropClient(7);
  assert.equal(waits.size, 1);
  waits.answerAll();
  assert.deepEqual(answers, [8]);
});
