import type { Server } from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";

/** Services whose health is reported; "" is the whole server. */
const HEALTH_SERVICES = [
  "",
  "supervisor.v1.TaskService",
  "supervisor.v1.RunnerService",
  "supervisor.v1.ScheduleService",
  "supervisor.v1.DispatchService",
];

/** grpc.health.v1.Health; flip to NOT_SERVING on shutdown so load balancers drain us first. */
export function addHealth(server: Pick<Server, "addService">): (status: ServingStatus) => void {
  const health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((name) => [name, "SERVING"])));
  health.addToServer(server);
  return (status) => {
    for (const name of HEALTH_SERVICES) health.setStatus(name, status);
  };
}
