import { type ConnectRequest_Batch, MAX_BATCH_ITEMS } from "@supervisor/sdk";
import { invalidArgument } from "../errors.js";

/** A runner's batch of reports within the item bound; a longer one is refused whole, before any item is read. */
export function validateBatch(batch: ConnectRequest_Batch): ConnectRequest_Batch {
  if (batch.items.length > MAX_BATCH_ITEMS) {
    throw invalidArgument([
      { field: "batch.items", description: `${batch.items.length} items; at most ${MAX_BATCH_ITEMS} per message` },
    ]);
  }
  return batch;
}
