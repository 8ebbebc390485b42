import { CoalescingWriter, ConnectRequest, type ConnectRequest_BatchItem, MAX_BATCH_ITEMS } from "@supervisor/sdk";
import { describe, expect, it } from "vitest";

type Message = ConnectRequest["message"];
type Report = ConnectRequest_BatchItem["message"];
const started = (runId: string): Report => ({ $case: "runStarted", value: { runId } });
const chunk = (runId: string, bytes: number): Report => ({
  $case: "output",
  value: { runId, stream: 1, data: Buffer.alloc(bytes, 0x61), seq: 1, offset: 0 },
});
const heartbeat: Message = { $case: "heartbeat", value: {} };

/** A writer whose flushes run when the test says, and what it wrote, decoded as the peer would. */
function writer(limits: { maxItems?: number; maxBytes?: number } = {}) {
  const written: (ConnectRequest | Buffer)[] = [];
  const flushes: (() => void)[] = [];
  const out = new CoalescingWriter<ConnectRequest>({
    write: (wire) => written.push(wire),
    encode: (message) => ConnectRequest.encode(message).finish(),
    batchable: (message) => message.message?.$case !== "heartbeat",
    schedule: (flush) => flushes.push(flush),
    maxItems: limits.maxItems ?? MAX_BATCH_ITEMS,
    maxBytes: limits.maxBytes ?? 1 << 20,
  });
  const decoded = () => written.map((wire) => (Buffer.isBuffer(wire) ? ConnectRequest.decode(wire) : wire));
  const tick = () => {
    for (const flush of flushes.splice(0)) flush();
  };
  return { out, written, decoded, tick, flushes };
}
const send = (out: CoalescingWriter<ConnectRequest>, ...messages: Message[]) => {
  for (const message of messages) out.send({ message });
};
const batch = (...items: Report[]): ConnectRequest => ({
  message: { $case: "batch", value: { items: items.map((message) => ({ message })) } },
});

describe("CoalescingWriter", () => {
  it("sends what was queued before the flush as one batch, in order", () => {
    const { out, decoded, tick, flushes } = writer();
    send(out, started("a"), chunk("a", 3), started("b"));
    expect(flushes).toHaveLength(1);
    expect(decoded()).toEqual([]);
    tick();
    expect(decoded()).toEqual([batch(started("a"), chunk("a", 3), started("b"))]);
  });

  it("a message alone goes out as the same bytes the message encodes to", () => {
    const { out, written, tick } = writer();
    send(out, started("a"));
    tick();
    expect(written).toEqual([Buffer.from(ConnectRequest.encode({ message: started("a") }).finish())]);
  });

  it("a message that may not be batched first writes out what is queued", () => {
    const { out, decoded, tick } = writer();
    send(out, started("a"), started("b"), heartbeat, started("c"));
    tick();
    expect(decoded()).toEqual([batch(started("a"), started("b")), { message: heartbeat }, { message: started("c") }]);
  });

  it("writes a batch once it holds maxItems, and before an item would take it past maxBytes", () => {
    const byCount = writer({ maxItems: 2 });
    send(byCount.out, started("a"), started("b"), started("c"));
    expect(byCount.decoded()).toEqual([batch(started("a"), started("b"))]);
    byCount.tick();
    expect(byCount.decoded()).toEqual([batch(started("a"), started("b")), { message: started("c") }]);

    const byBytes = writer({ maxBytes: 1000 });
    send(byBytes.out, chunk("a", 400), chunk("b", 400), chunk("c", 2000), started("d"));
    byBytes.tick();
    expect(byBytes.decoded()).toEqual([
      batch(chunk("a", 400), chunk("b", 400)),
      { message: chunk("c", 2000) }, // bigger than the bound: alone
      { message: started("d") },
    ]);
  });

  it("discard forgets what is queued", () => {
    const { out, written, tick } = writer();
    send(out, started("a"));
    out.discard();
    tick();
    expect(written).toEqual([]);
    expect(out.queued).toBe(0);
  });
});
