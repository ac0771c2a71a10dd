import { route, type Route } from '../deps.js';
import { adminRoutes, ok, wireErrorOf, budgetDetailToJson, budgetFieldsFromJson, budgetToJson, closedPeriodToJson, policyFromJson, policyPatchFromJson, type TreeNodeValue } from '../../contract/index.js';
import { budgetDetail, budgetTree, closedPeriods as closedPeriodsOp, listBudgets as listBudgetsOp, setScopedLimit, unpricedRoute, type BudgetNode, type ScopedLimit } from '../../ops/index.js';
import type { ApiDeps } from '../deps.js';


const listBudgets = route(adminRoutes.listBudgets, async ({ query, deps }) => ({ budgets: ok(await listBudgetsOp(deps.store, query)).budgets.map(budgetToJson) }));

const createBudget = route(adminRoutes.createBudget, async ({ body, headers, actor, deps }) => {
  const policy = body.policy && policyFromJson(body.policy);
  const unpriced = unpricedRoute(policy, deps.pricing);
  if (unpriced) throw wireErrorOf(unpriced);
  const { budget } = ok(
    await deps.store.createBudget({
      path: body.path,
      kind: body.kind,
      ...budgetFieldsFromJson(body),
      policy,
      createParents: body.create_parents,
      actor,
      idempotencyKey: headers['idempotency-key'],
    }),
  );
  return { budget: budgetToJson(budget) };
});

const getBudget = route(adminRoutes.getBudget, async ({ params, deps }) => budgetDetailToJson(ok(await budgetDetail(deps.store, params.path)), budgetToJson));

const updateBudget = route(adminRoutes.updateBudget, async ({ params, body, headers, actor, deps }) => {
  const policyPatch = policyPatchFromJson(body.policy);
  const unpriced = unpricedRoute(policyPatch && { brownout: policyPatch.brownout ?? undefined, fallbacks: policyPatch.fallbacks ?? undefined }, deps.pricing);
  if (unpriced) throw wireErrorOf(unpriced);
  const { budget } = ok(
    await deps.store.updateBudget({
      path: params.path,
      ...budgetFieldsFromJson(body),
      policyPatch,
      actor,
      idempotencyKey: headers['idempotency-key'],
    }),
  );
  return { budget: budgetToJson(budget) };
});

function statusRoute(spec: typeof adminRoutes.pauseBudget, status: 'paused' | 'active' | 'closed'): Route {
  return route(spec, async ({ params, body, actor, deps }) => {
    const { budget } = ok(await deps.store.setStatus({ path: params.path, status, reason: body?.reason, actor }));
    return { budget: budgetToJson(budget) };
  });
}

const grantBudget = route(adminRoutes.grantBudget, async ({ params, body, headers, actor, deps }) => {
  const { budget } = ok(await deps.store.grant({ path: params.path, amountMicros: body.amount_micros, reason: body.reason, actor, idempotencyKey: headers['idempotency-key'] }));
  return { budget: budgetToJson(budget), granted_micros: body.amount_micros };
});

const moveBudget = route(adminRoutes.moveBudget, async ({ params, body, actor, deps }) => {
  const { budget } = ok(await deps.store.moveBudget({ path: params.path, parent: body.parent, reason: body.reason, actor }));
  return { budget: budgetToJson(budget) };
});

const resetBreaker = route(adminRoutes.resetBreaker, async ({ params, body, actor, deps }) => {
  const { budget } = ok(await deps.store.resetBreaker({ path: params.path, reason: body?.reason, actor }));
  return { budget: budgetToJson(budget) };
});

/** Sets a model, tag or provider limit; the budget's JSON and whether it was made. */
async function scopedLimit(deps: ApiDeps, limit: ScopedLimit, field: string) {
  const { budget, created } = ok(await setScopedLimit(deps.store, deps.pricing, limit), { limitMicros: 'limit_micros', path: field });
  return { budget: budgetToJson(budget), created };
}

const setModelLimit = route(adminRoutes.setModelLimit, async ({ params, body, actor, deps }) =>
  scopedLimit(deps, { kind: 'model', under: params.path, model: body.model, limitMicros: body.limit_micros, period: body.period, timezone: body.timezone, reason: body.reason, actor }, 'model'),
);

const setTagLimit = route(adminRoutes.setTagLimit, async ({ body, actor, deps }) =>
  scopedLimit(deps, { kind: 'tag', tag: body.tag, limitMicros: body.limit_micros, period: body.period, timezone: body.timezone, reason: body.reason, actor }, 'tag'),
);

const setProviderLimit = route(adminRoutes.setProviderLimit, async ({ body, actor, deps }) =>
  scopedLimit(deps, { kind: 'provider', provider: body.provider, limitMicros: body.limit_micros, period: body.period, timezone: body.timezone, reason: body.reason, actor }, 'provider'),
);

const closedPeriods = route(adminRoutes.closedPeriods, async ({ params, deps }) => ({ budget: params.path, periods: ok(await closedPeriodsOp(deps.store, params.path)).periods.map(closedPeriodToJson) }));

/** A budget tree in JSON: each node is the budget's JSON with its children (a loop over a stack, no recursion). */
function treeToJson(roots: readonly BudgetNode[]): TreeNodeValue[] {
  const out: TreeNodeValue[] = [];
  const stack: { node: BudgetNode; into: TreeNodeValue[] }[] = [...roots].reverse().map((node) => ({ node, into: out }));
  while (stack.length > 0) {
    const { node, into } = stack.pop() as { node: BudgetNode; into: TreeNodeValue[] };
    const json: TreeNodeValue = { ...budgetToJson(node.budget), children: [] };
    into.push(json);
    for (const child of [...node.children].reverse()) stack.push({ node: child, into: json.children });
  }
  return out;
}

const tree = route(adminRoutes.tree, async ({ query, deps }) => ({ budgets: treeToJson(ok(await budgetTree(deps.store, query.root)).roots) }));

export const budgetRoutes: Route[] = [
  listBudgets,
  createBudget,
  tree,
  getBudget,
  updateBudget,
  statusRoute(adminRoutes.pauseBudget, 'paused'),
  statusRoute(adminRoutes.resumeBudget, 'active'),
  statusRoute(adminRoutes.closeBudget, 'closed'),
  grantBudget,
  moveBudget,
  resetBreaker,
  closedPeriods,
  setModelLimit,
  setTagLimit,
  setProviderLimit,
];
