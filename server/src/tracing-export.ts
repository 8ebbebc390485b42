import type { Logger } from "./errors.js";

/**
 * Registers an OpenTelemetry SDK that exports the server's spans over OTLP, when the standard variables ask
 * for it: OTEL_TRACES_EXPORTER=otlp, or an OTLP endpoint set (OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) with no exporter named. The SDK and exporter are optional
 * dependencies, loaded only then. Returns the flush-and-stop for shutdown, or undefined when not exporting.
 */
export async function startTraceExport(
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<(() => Promise<void>) | undefined> {
  if (env.OTEL_SDK_DISABLED === "true") return undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? (endpoint ? "otlp" : "none")).split(",").map((e) => e.trim());
  if (!exporters.includes("otlp")) return undefined;
  const modules = await loadSdk().catch((error: unknown) => {
    log("trace export is asked for (OTEL_*), but the OpenTelemetry SDK is not installed; not exporting", error, {
      level: "warn",
    });
    return undefined;
  });
  if (!modules) return undefined;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, resources] = modules;
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ "service.name": "supervisor" }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  log(`exporting traces over OTLP${endpoint ? ` to ${endpoint}` : ""}`, undefined, { endpoint });
  return () => provider.shutdown();
}

const loadSdk = () =>
  Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/exporter-trace-otlp-proto"),
    import("@opentelemetry/resources"),
  ]);
