/**
 * Tenants (docs/security.md, "Tenants"): every API key belongs to one, every plan records the one that submitted it,
 * and a plan's data (its view, stream, messages, inputs, results, the outputs its tasks may reference, the agents'
 * memory of it) is seen only from within that tenant. With API keys off, everything is the default tenant.
 */
export const DEFAULT_TENANT = 'default';

/** What a tenant's name may be: it is a search attribute value, a fairness key (at most 64 bytes) and a memo field. */
export const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/;

/** The tenant a plan's settings name (plans started before tenants existed: the default). */
export const tenantOrDefault = (tenant: string | undefined): string => tenant ?? DEFAULT_TENANT;
