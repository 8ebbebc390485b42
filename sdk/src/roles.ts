/** The roles a bearer token can have (the server's `tokens` setting); what each may call is the server's table. */
export const TOKEN_ROLES = ["client", "runner", "operator", "readonly"] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];
