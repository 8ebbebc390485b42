// The label syntax lives in the SDK, so a client checks labels exactly as the server does.
export { validateLabelKey, validateLabels, validateLabelValue } from "@supervisor/sdk";
