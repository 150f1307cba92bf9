/**
 * forkTable: the live table fork (issue 15) as one workflow, while the pipelines keep running.
 *  1. clone main → fork (incremental deep clone);
 *  2. publish the routing that sends the subset to the fork (its route first), then the barrier: wait until
 *     every affected egress pipeline acknowledges the new routing version, so no batch planned under the old
 *     routing can land on main after step 3;
 *  3. clone again: backfills what main received between 1 and 2, keeping what the fork got directly;
 *  4. plan the deletes (a dry run the `forkState` query shows), wait for approval (the `approveFork` Update,
 *     whose validator refuses a stale plan, or the `approveForkSignal` signal, or `auto`), delete the subset
 *     from main and everything else from the fork, then verify by the lineage keys.
 * A crash of any worker resumes (every activity is idempotent); cancel leaves the step's work consistent
 * (README "Live table fork" says what is left and how to resume or roll back).
 */
import {
  ActivityCancellationType,
  type ActivityOptions,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { CloneActivities, CloneActivityResult } from '../activities/clone';
import type { ForkActivities } from '../activities/fork';
import {
  type ForkApproval,
  type ForkCloneSummary,
  type ForkInput,
  type ForkResult,
  type ForkState,
  forkInputIssues,
} from '../shapes/fork';
import { NON_RETRYABLE } from './activity-options';

export const forkStateQuery = defineQuery<ForkState>('forkState');
/** Approves the plan it names; refused (by the validator) unless that plan is the one awaiting approval. */
export const approveForkUpdate = defineUpdate<{ approved: string }, [ForkApproval]>('approveFork');
/** The same approval as a signal (no answer: a stale plan is ignored and noted in the state's detail). */
export const approveForkSignal = defineSignal<[ForkApproval]>('approveForkSignal');

const retry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  nonRetryableErrorTypes: NON_RETRYABLE,
} as const;

const summary = (c: CloneActivityResult): ForkCloneSummary => ({
  sourceVersion: c.sourceVersion,
  targetVersion: c.targetVersion,
  kind: c.kind,
  mode: c.mode,
  bytesTransferred: c.bytesTransferred,
});

/** Why the plan `planId` cannot be approved now (undefined: it can). Synchronous: the Update's validator. */
function approvalRefusal(state: ForkState, a: ForkApproval | undefined): string | undefined {
  if (!a || typeof a.planId !== 'string')
    return 'an approval names the plan it approves: { "planId": "p1-…" }';
  if (state.approvedPlan)
    return `plan ${state.approvedPlan} was already approved${state.approvedBy ? ` by ${state.approvedBy}` : ''}; the fork is at step ${state.step}`;
  if (state.step !== 'awaitingApproval' || !state.plan)
    return `fork ${state.name} is at step ${state.step}: no plan awaits approval yet`;
  if (a.planId !== state.plan.id)
    return `plan ${a.planId} is stale: the plan awaiting approval is ${state.plan.id} (made at ${state.plan.madeAt}); read it with the forkState query and approve that one`;
  return undefined;
}

export async function forkTable(input: ForkInput): Promise<ForkResult> {
  const issues = forkInputIssues(input);
  if (issues.length)
    throw ApplicationFailure.nonRetryable(`forkTable input is invalid: ${issues.join('; ')}`, 'BAD_INPUT');
  const state: ForkState = { name: input.name, step: 'cloning', plans: 0 };
  setHandler(forkStateQuery, () => state);
  let approval: ForkApproval | undefined;
  const approve = (a: ForkApproval) => {
    approval = a;
    state.approvedPlan = a.planId;
    if (a.by) state.approvedBy = a.by;
  };
  setHandler(
    approveForkUpdate,
    (a) => {
      approve(a);
      return { approved: a.planId };
    },
    {
      validator: (a) => {
        const why = approvalRefusal(state, a);
        if (why) throw new Error(why);
      },
    },
  );
  setHandler(approveForkSignal, (a) => {
    const why = approvalRefusal(state, a);
    if (why) {
      log.warn('fork approval signal ignored', { fork: input.name, reason: why });
      state.detail = `approval signal ignored: ${why}`;
      return;
    }
    approve(a);
  });

  const heartbeatTimeout =
    `${input.heartbeatTimeoutSeconds ?? 30} seconds` as ActivityOptions['heartbeatTimeout'];
  const { cloneTableActivity } = proxyActivities<CloneActivities>({
    startToCloseTimeout: '12 hours',
    heartbeatTimeout,
    retry,
  });
  const control = proxyActivities<ForkActivities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout,
    retry,
  });
  // A delete is waited for when cancelled: its commit either landed or did not, and the state says which.
  const bulk = proxyActivities<ForkActivities>({
    startToCloseTimeout: '6 hours',
    heartbeatTimeout,
    retry,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const target = { name: `fork-${input.name}`, source: input.main, target: input.fork };
  const cloneOpts = input.concurrency !== undefined ? { concurrency: input.concurrency } : {};

  try {
    // Started again after a cancel between the deletes: a clone now would replay main's delete onto the
    // fork, so the fork goes straight to the deletes (the routing is live; the barrier passes at once).
    const resume = await control.forkResumePoint({
      main: input.main,
      fork: input.fork,
      subset: input.subset,
    });
    const skipClones = resume.mainDeletedAt !== undefined;

    // Step 1.
    state.detail = `deep clone ${input.main} → ${input.fork}`;
    if (!skipClones) state.firstClone = summary(await cloneTableActivity(target, cloneOpts));
    else state.detail = `main already holds this fork's delete (version ${resume.mainDeletedAt}): no clone`;
    const baseVersion = state.firstClone?.sourceVersion ?? 0;

    // Step 2: routing, then the barrier.
    state.step = 'routing';
    state.detail = 'publishing the routing that sends the subset to the fork';
    const routing = await control.planForkRouting({
      input,
      ...(input.baseRoutes ? { baseRoutes: input.baseRoutes } : {}),
    });
    const version =
      routing.publishedVersion ??
      (
        await control.publishForkRouting({
          main: input.main,
          routes: routing.routes,
          expected: routing.expected,
          publishedBy: `fork/${workflowInfo().workflowId}`,
          reason: `fork ${input.name}: ${input.subset} → ${input.fork}`,
        })
      ).version;
    state.routingVersion = version;
    state.step = 'barrier';
    const timeoutMs = (input.barrierTimeoutSeconds ?? 900) * 1000;
    const pollMs = (input.barrierPollSeconds ?? 5) * 1000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const acks = await control.readForkAcks({ main: input.main, regions: routing.regions });
      state.acks = acks;
      const waiting = routing.regions.filter((r) => (acks[r] ?? -1) < version);
      if (!waiting.length) break;
      state.detail = `waiting for ${waiting.join(', ')} to acknowledge routing version ${version}`;
      if (Date.now() >= deadline)
        throw ApplicationFailure.nonRetryable(
          `fork ${input.name}: regions ${waiting.map((r) => `${r} (at ${acks[r] ?? 'none'})`).join(', ')} did not acknowledge routing version ${version} within ${timeoutMs / 1000} s; is their egress running? The routing stays published: start the fork again to resume`,
          'BARRIER_TIMEOUT',
        );
      await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
    }

    // Step 3.
    state.step = 'backfilling';
    state.detail = `incremental clone of what ${input.main} received before routing version ${version}`;
    if (!skipClones) state.backfill = summary(await cloneTableActivity(target, cloneOpts));

    // Step 4: plan, approval, deletes, verification.
    const plan = async () => {
      state.step = 'planning';
      state.detail = 'counting the rows each delete would remove';
      state.plans++;
      state.plan = await bulk.planForkDelete({
        main: input.main,
        fork: input.fork,
        subset: input.subset,
        number: state.plans,
        routingVersion: version,
      });
    };
    await plan();
    if (input.approval === 'auto') approve({ planId: state.plan!.id, by: 'auto' });
    const replanMs = (input.replanSeconds ?? 300) * 1000;
    while (!approval) {
      state.step = 'awaitingApproval';
      state.detail = `approve plan ${state.plan!.id} with the approveFork Update (or signal, or 'tributary fork approve')`;
      if (!(await condition(() => approval !== undefined, replanMs))) await plan();
    }

    state.step = 'deleting';
    state.detail = `deleting the subset from ${input.main}`;
    state.deletes = [
      await bulk.deleteForkSide({ table: input.main, subset: input.subset, complement: false }),
    ];
    state.detail = `deleting everything but the subset from ${input.fork}`;
    state.deletes.push(
      await bulk.deleteForkSide({ table: input.fork, subset: input.subset, complement: true }),
    );

    state.step = 'verifying';
    state.detail = 'checking the lineage keys of both tables';
    const verification = await bulk.verifyFork({
      main: input.main,
      fork: input.fork,
      subset: input.subset,
      baseVersion,
    });
    state.verification = verification;
    state.step = 'done';
    state.detail = verification.verified ? 'verified' : 'VERIFICATION FAILED: see the counts in verification';
    if (!verification.verified) log.error('fork verification failed', { fork: input.name, ...verification });
    return { ...state, step: 'done', verification };
  } catch (e) {
    if (isCancellation(e))
      await CancellationScope.nonCancellable(async () => {
        state.detail = `cancelled at step ${state.step}`;
        log.warn('fork cancelled', {
          fork: input.name,
          step: state.step,
          routingVersion: state.routingVersion,
        });
      });
    throw e;
  }
}
