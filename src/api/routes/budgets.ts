import { z } from 'zod';
import { effectivePolicy, type BudgetView, type Policy, type UpdateBudget } from '../../core/index.js';
import { route, type Route } from '../deps.js';
import { WireError, ok, budgetToJson, closedPeriodToJson, policyToJson, ActorHeaders, BudgetJson, BudgetsQuery, ClosedPeriodJson, CreateBudgetBody, GrantBody, MoveBody, PathParams, PolicyJson, ReasonBody, TreeNodeJson, TreeQuery, UpdateBudgetBody, WriteHeaders, type PolicyInput, type PolicyPatchInput, type TreeNodeValue } from '../../contract/index.js';

const tag = 'budgets';

type PolicyPatch = NonNullable<UpdateBudget['policyPatch']>;
const BudgetResponse = z.object({ budget: BudgetJson });

function policyFromInput(p: z.output<typeof PolicyInput> | undefined): Policy | undefined {
  if (p === undefined) return undefined;
  const out: Policy = {};
  if (p.models !== undefined) out.models = p.models;
  if (p.request_cap_micros !== undefined) out.requestCapMicros = p.request_cap_micros;
  if (p.inflight_max !== undefined) out.inflightMax = p.inflight_max;
  if (p.max_output_tokens !== undefined) out.maxOutputTokens = p.max_output_tokens;
  if (p.alert_thresholds_pct !== undefined) out.alertThresholdsPct = p.alert_thresholds_pct;
  return out;
}

function patchFromInput(p: z.output<typeof PolicyPatchInput> | undefined): PolicyPatch | undefined {
  if (p === undefined) return undefined;
  const out: PolicyPatch = {};
  if (p.models !== undefined) out.models = p.models;
  if (p.request_cap_micros !== undefined) out.requestCapMicros = p.request_cap_micros;
  if (p.inflight_max !== undefined) out.inflightMax = p.inflight_max;
  if (p.max_output_tokens !== undefined) out.maxOutputTokens = p.max_output_tokens;
  if (p.alert_thresholds_pct !== undefined) out.alertThresholdsPct = p.alert_thresholds_pct;
  return Object.keys(out).length > 0 ? out : undefined;
}

function under(path: string | undefined): (b: BudgetView) => boolean {
  return (b) => path === undefined || b.path === path || b.path.startsWith(`${path}/`);
}

function unknownBudget(path: string, field = 'path'): WireError {
  return new WireError('unknown_budget', `no budget at ${path}`, { field });
}

const listBudgets = route({
  method: 'GET',
  path: '/api/budgets',
  operationId: 'listBudgets',
  summary: 'List budgets, sorted by path',
  tag,
  access: 'viewer',
  query: BudgetsQuery,
  response: { status: 200, description: 'the budgets', schema: z.object({ budgets: z.array(BudgetJson) }) },
  handler: async ({ query, deps }) => {
    if (query.under !== undefined && !(await deps.store.getBudget(query.under))) throw unknownBudget(query.under, 'under');
    const all = await deps.store.listBudgets();
    const budgets = all.filter((b) => under(query.under)(b) && (query.kind === undefined || b.kind === query.kind) && (query.status === undefined || b.status === query.status));
    return { budgets: budgets.map(budgetToJson) };
  },
});

const createBudget = route({
  method: 'POST',
  path: '/api/budgets',
  operationId: 'createBudget',
  summary: 'Create a budget',
  description: 'Creates a budget at a path. Its parent must exist unless create_parents is true. A child\'s policy may only narrow its parents\'.',
  tag,
  access: 'admin',
  body: CreateBudgetBody,
  headers: WriteHeaders,
  response: { status: 201, description: 'the new budget', schema: BudgetResponse },
  handler: async ({ body, headers, actor, deps }) => {
    const { budget } = ok(
      await deps.store.createBudget({
        path: body.path,
        kind: body.kind,
        limitMicros: body.limit_micros,
        period: body.period,
        timezone: body.timezone,
        policy: policyFromInput(body.policy),
        createParents: body.create_parents,
        reason: body.reason,
        actor,
        idempotencyKey: headers['idempotency-key'],
      }),
    );
    return { budget: budgetToJson(budget) };
  },
});

/** The level of a chain with the least left, or undefined when no level has a limit. */
function tightestOf(chain: readonly BudgetView[]): BudgetView | undefined {
  let tightest: BudgetView | undefined;
  for (const b of chain) {
    if (b.remainingMicros === null) continue;
    if (!tightest || b.remainingMicros < (tightest.remainingMicros ?? Infinity)) tightest = b;
  }
  return tightest;
}

const getBudget = route({
  method: 'GET',
  path: '/api/budgets/{path}',
  operationId: 'getBudget',
  summary: 'Read a budget with its chain',
  description: 'The budget, every budget above it (root first), what the tightest level can still take, and the policy in force.',
  tag,
  access: 'viewer',
  params: PathParams,
  response: {
    status: 200,
    description: 'the budget and its chain',
    schema: z.object({
      budget: BudgetJson,
      chain: z.array(BudgetJson).describe('root first, ending with the budget'),
      remaining_micros: z.int().nullable().describe('what the budget can spend now: the least any level has left; null when no level has a limit'),
      tightest: z.string().nullable(),
      effective_policy: PolicyJson,
    }),
  },
  handler: async ({ params, deps }) => {
    const leafFirst = await deps.store.chain(params.path);
    const leaf = leafFirst[0];
    if (!leaf) throw unknownBudget(params.path);
    const rootFirst = [...leafFirst].reverse();
    const tightest = tightestOf(leafFirst);
    return {
      budget: budgetToJson(leaf),
      chain: rootFirst.map(budgetToJson),
      remaining_micros: tightest?.remainingMicros ?? null,
      tightest: tightest?.path ?? null,
      effective_policy: policyToJson(effectivePolicy(rootFirst.map((b) => b.policy))),
    };
  },
});

const updateBudget = route({
  method: 'PATCH',
  path: '/api/budgets/{path}',
  operationId: 'updateBudget',
  summary: 'Change a budget\'s limit, period, time zone or policy',
  description: 'Only the fields given change. Policy fields are merged into the budget\'s own policy atomically: a value sets one, null removes it.',
  tag,
  access: 'admin',
  params: PathParams,
  body: UpdateBudgetBody,
  headers: WriteHeaders,
  response: { status: 200, description: 'the budget after the change', schema: BudgetResponse },
  handler: async ({ params, body, headers, actor, deps }) => {
    const { budget } = ok(
      await deps.store.updateBudget({
        path: params.path,
        limitMicros: body.limit_micros,
        period: body.period,
        timezone: body.timezone,
        policyPatch: patchFromInput(body.policy),
        reason: body.reason,
        actor,
        idempotencyKey: headers['idempotency-key'],
      }),
    );
    return { budget: budgetToJson(budget) };
  },
});

function statusRoute(action: 'pause' | 'resume' | 'close', status: 'paused' | 'active' | 'closed', summary: string): Route {
  return route({
    method: 'POST',
    path: `/api/budgets/{path}/${action}`,
    operationId: `${action}Budget`,
    summary,
    tag,
    access: 'admin',
    params: PathParams,
    body: ReasonBody,
    headers: ActorHeaders,
    response: { status: 200, description: 'the budget after the change', schema: BudgetResponse },
    handler: async ({ params, body, actor, deps }) => {
      const { budget } = ok(await deps.store.setStatus({ path: params.path, status, reason: body?.reason, actor }));
      return { budget: budgetToJson(budget) };
    },
  });
}

const grantBudget = route({
  method: 'POST',
  path: '/api/budgets/{path}/grant',
  operationId: 'grantBudget',
  summary: 'Top up a budget for its current period',
  description: 'Adds an allowance on top of the limit until the period ends. Refused (budget_unlimited) for a budget without a limit.',
  tag,
  access: 'admin',
  params: PathParams,
  body: GrantBody,
  headers: WriteHeaders,
  response: { status: 200, description: 'the budget after the grant', schema: z.object({ budget: BudgetJson, granted_micros: z.int() }) },
  handler: async ({ params, body, headers, actor, deps }) => {
    const { budget } = ok(await deps.store.grant({ path: params.path, amountMicros: body.amount_micros, reason: body.reason, actor, idempotencyKey: headers['idempotency-key'] }));
    return { budget: budgetToJson(budget), granted_micros: body.amount_micros };
  },
});

const moveBudget = route({
  method: 'POST',
  path: '/api/budgets/{path}/move',
  operationId: 'moveBudget',
  summary: 'Move a budget (and everything under it) to a new parent',
  description: 'Refused while anything under it holds a reservation (budget_busy) and when the new parent lies inside it (tree_cycle).',
  tag,
  access: 'admin',
  params: PathParams,
  body: MoveBody,
  headers: ActorHeaders,
  response: { status: 200, description: 'the budget at its new path', schema: BudgetResponse },
  handler: async ({ params, body, actor, deps }) => {
    const { budget } = ok(await deps.store.moveBudget({ path: params.path, parent: body.parent, reason: body.reason, actor }));
    return { budget: budgetToJson(budget) };
  },
});

const closedPeriods = route({
  method: 'GET',
  path: '/api/budgets/{path}/periods',
  operationId: 'listClosedPeriods',
  summary: 'Totals of a budget\'s closed periods',
  tag,
  access: 'viewer',
  params: PathParams,
  response: { status: 200, description: 'closed periods, oldest first', schema: z.object({ budget: z.string(), periods: z.array(ClosedPeriodJson) }) },
  handler: async ({ params, deps }) => {
    if (!(await deps.store.getBudget(params.path))) throw unknownBudget(params.path);
    const periods = await deps.store.closedPeriods(params.path);
    return { budget: params.path, periods: [...periods].sort((a, b) => a.startMs - b.startMs).map(closedPeriodToJson) };
  },
});

/**
 * The budgets as nested nodes, siblings by name; with `root`, only that subtree. A loop, no recursion.
 *
 * @example
 * budgetTree(await store.listBudgets())[0].children[0].path // 'acme/research'
 */
export function budgetTree(budgets: readonly BudgetView[], root?: string): TreeNodeValue[] {
  const byName = [...budgets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const nodes = new Map<number, TreeNodeValue>(byName.map((b) => [b.id, { ...budgetToJson(b), children: [] }]));
  const roots: TreeNodeValue[] = [];
  for (const b of byName) {
    const node = nodes.get(b.id);
    if (!node) continue;
    const parent = b.parentId === null ? undefined : nodes.get(b.parentId);
    if (root !== undefined ? b.path === root : b.parentId === null) roots.push(node);
    else if (parent) parent.children.push(node);
  }
  return roots;
}

const tree = route({
  method: 'GET',
  path: '/api/tree',
  operationId: 'budgetTree',
  summary: 'The budget tree',
  description: 'Every budget nested under its parent, siblings sorted by name.',
  tag,
  access: 'viewer',
  query: TreeQuery,
  response: { status: 200, description: 'root budgets with their children', schema: z.object({ budgets: z.array(TreeNodeJson) }) },
  handler: async ({ query, deps }) => {
    const all = await deps.store.listBudgets();
    if (query.root !== undefined && !all.some((b) => b.path === query.root)) throw unknownBudget(query.root, 'root');
    return { budgets: budgetTree(all, query.root) };
  },
});

export const budgetRoutes: Route[] = [
  listBudgets,
  createBudget,
  tree,
  getBudget,
  updateBudget,
  statusRoute('pause', 'paused', 'Pause a budget: everything under it is refused new reservations'),
  statusRoute('resume', 'active', 'Resume a paused budget'),
  statusRoute('close', 'closed', 'Close a budget for good'),
  grantBudget,
  moveBudget,
  closedPeriods,
];
