import { makeGenericClientConstructor } from "@grpc/grpc-js";
import { ConnectRequest, type RunnerServiceClient, RunnerServiceService } from "../gen/supervisor/v1/runner_service.js";

/**
 * The RunnerService client as generated, except that Connect also writes
 * ready-made wire bytes as they are: the runner encodes each report once, as
 * it queues it for a batch (CoalescingWriter), and sends those bytes.
 */
export const RunnerConnectClient = makeGenericClientConstructor(
  {
    ...RunnerServiceService,
    connect: {
      ...RunnerServiceService.connect,
      requestSerialize: (value: ConnectRequest | Buffer): Buffer =>
        Buffer.isBuffer(value) ? value : Buffer.from(ConnectRequest.encode(value).finish()),
    },
  },
  "supervisor.v1.RunnerService",
) as unknown as typeof RunnerServiceClient;
