import { credentials, loadPackageDefinition, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";

/** The server's answer to grpc.health.v1.Health/Check ("SERVING", "NOT_SERVING", ...). */
export async function healthStatus(address: string, service = ""): Promise<string> {
  const pkg = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as any;
  const client = new pkg.grpc.health.v1.Health(address, credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) =>
      client.check({ service }, (error: ServiceError | null, reply: { status: string }) =>
        error ? reject(error) : resolve(reply.status),
      ),
    );
  } finally {
    client.close();
  }
}
