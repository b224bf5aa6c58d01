import type { WorkflowExecutionDescription } from '@temporalio/client';
import { TenantKey } from '../../shared/search-attributes';
import { DEFAULT_TENANT } from '../../shared/tenant';
import type { Principal } from '../auth';
import { ApiError } from '../errors';
import type { PlanLookup } from './plan-lookup';

/** How long a plan's tenant is remembered: it never changes, and a plan id is reused only after retention. */
const REMEMBER_MS = 5 * 60_000;
const REMEMBERED = 10_000;

/** The tenant a request acts for: its key's; without keys (an open API), the default tenant. */
export const tenantOf = (who: Principal | undefined): string => who?.tenant ?? DEFAULT_TENANT;

/** Whether a request sees every tenant's plans: an `admin` key, or an API without keys. */
export const spansTenants = (who: Principal | undefined): boolean => !who || who.scopes.has('admin');

/** The tenant a plan's workflow records (memo, else search attribute); plans from before tenants: the default. */
export function planTenant(desc: Pick<WorkflowExecutionDescription, 'memo' | 'typedSearchAttributes'>): string {
  const memo = desc.memo?.tenant;
  return typeof memo === 'string' ? memo : (desc.typedSearchAttributes.get(TenantKey) ?? DEFAULT_TENANT);
}

/** The visibility filter for a tenant's plans (plans from before tenants have no Tenant and belong to the default). */
export function tenantFilter(tenant: string): string {
  const mine = `${TenantKey.name} = '${tenant.replace(/'/g, "''")}'`;
  return tenant === DEFAULT_TENANT ? `(${mine} OR ${TenantKey.name} IS NULL)` : mine;
}

/**
 * Every route that names a plan passes here first: another tenant's plan answers exactly as a plan that does not
 * exist (404 "no plan"), so a key cannot even learn which ids other tenants use. Plans' tenants are remembered a few
 * minutes, so the check costs one describe per plan, not one per request.
 */
export class TenantGate {
  private readonly known = new Map<string, { tenant: string; at: number }>();

  constructor(private readonly lookup: PlanLookup) {}

  async check(planId: string, who: Principal | undefined): Promise<void> {
    if (spansTenants(who)) return;
    if ((await this.tenantOfPlan(planId)) !== tenantOf(who)) throw new ApiError('NOT_FOUND', `no plan "${planId}"`);
  }

  /** A plan this API process just started: its tenant is known without asking. */
  remember(planId: string, tenant: string): void {
    if (this.known.size >= REMEMBERED) this.known.delete(this.known.keys().next().value as string);
    this.known.set(planId, { tenant, at: Date.now() });
  }

  private async tenantOfPlan(planId: string): Promise<string> {
    const now = Date.now();
    const hit = this.known.get(planId);
    if (hit && now - hit.at < REMEMBER_MS) return hit.tenant;
    const tenant = planTenant(await this.lookup.describe(planId));
    this.remember(planId, tenant);
    return tenant;
  }
}
