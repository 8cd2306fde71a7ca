/** Who is asking: the tenant of the API key and the department of X-Department-Id. */
export type Scope = { tenantId: string; departmentId: string; apiKeyId: string };
