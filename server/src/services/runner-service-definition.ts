import { ConnectResponse, RunnerServiceService } from "@supervisor/sdk";

/**
 * RunnerService as generated, except that Connect may also send ready-made
 * wire bytes: the supervisor encodes each assign and cancel once, as it
 * queues it for a batch (CoalescingWriter), and sends those bytes.
 */
export const RUNNER_SERVICE_DEFINITION = {
  ...RunnerServiceService,
  connect: {
    ...RunnerServiceService.connect,
    responseSerialize: (value: ConnectResponse | Buffer) =>
      Buffer.isBuffer(value) ? value : Buffer.from(ConnectResponse.encode(value).finish()),
  },
} as const;
