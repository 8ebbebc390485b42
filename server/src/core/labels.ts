/** Label syntax lives in the SDK (`sdk/src/labels.ts`), shared with its selector parser. */
export { validateLabelKey, validateLabels, validateLabelValue } from "@supervisor/sdk";
