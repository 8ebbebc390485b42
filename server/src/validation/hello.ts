import type { ConnectRequest_Hello } from "@supervisor/sdk";
import { z } from "zod";
import { invalidArgument } from "../errors.js";
import { labelMap } from "./common.js";
import { violationsOf } from "./violations.js";

/** DNS-name length, so a host name fits. */
export const MAX_RUNNER_NAME = 253;

const helloSchema = z.object({
  name: z
    .string()
    .min(1, "required")
    .max(MAX_RUNNER_NAME, `at most ${MAX_RUNNER_NAME} characters`)
    .regex(/^[A-Za-z0-9._:-]+$/, "only letters, digits and ._:-"),
  labels: labelMap,
  kinds: z
    .array(
      z
        .string()
        .min(1)
        .max(256)
        .regex(
          /^(subprocess|wasm|container|embedded:[A-Za-z0-9._:/*-]+)$/,
          'one of "subprocess", "wasm", "container", "embedded:<handler>", "embedded:*"',
        ),
    )
    .min(1, "a runner must run at least one kind")
    .max(1024, "at most 1024 kinds"),
  capacity: z.number().int().min(1, "at least 1").max(10_000, "at most 10000"),
  version: z.string().max(128, "at most 128 characters"),
  activeRunIds: z.array(z.string().max(64)).max(10_000, "at most 10000"),
  instanceId: z.string().max(128, "at most 128 characters"),
  finishedRunIds: z.array(z.string().max(64)).max(10_000, "at most 10000"),
});

/** A hello the engine can trust; field paths are `hello.<field>`. */
export function validateHello(hello: ConnectRequest_Hello): ConnectRequest_Hello {
  const result = helloSchema.safeParse(hello);
  if (!result.success) throw invalidArgument(violationsOf(result.error, hello, "hello"));
  return hello;
}
