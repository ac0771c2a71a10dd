import type { Command } from 'commander';
import type { AuditReport } from '../core/index.js';
import { reportFailure, type CliContext } from './context.js';
import { problemJson, problemText } from './output.js';

function summary(report: AuditReport): string {
  const counts = `${report.entries} entries, ${report.budgets} budgets, ${report.closedPeriods} closed periods, ${report.openReservations} open reservations`;
  const from =
    report.verifiedFromSeq === 0
      ? 'replayed from the first entry'
      : `replayed from entry ${report.verifiedFromSeq}, where the last audit verified it up to (--full replays from the first)`;
  return `${counts}; head hash ${report.headHash.slice(0, 16)}…\n${from}`;
}

function humanReport(report: AuditReport): string {
  if (report.ok) return `Audit OK: replaying the ledger reproduces every balance.\n${summary(report)}`;
  const n = report.problems.length;
  return [
    `Audit FAILED: ${n} problem${n === 1 ? '' : 's'} found; the ledger and the stored balances disagree.`,
    ...report.problems.map((p) => `  - ${problemText(p)}`),
    summary(report),
  ].join('\n');
}

/**
 * Adds `bursar audit verify [--full]`: replays the ledger (from where the last successful audit
 * left its checkpoint, or with --full from the first entry) and checks the hash chain and every
 * balance. Exits 0 when they agree, 1 when they do not, listing each problem with the entry
 * (seq) and budget it concerns.
 *
 * @example
 * registerAudit(program, context);
 */
export function registerAudit(program: Command, context: CliContext): void {
  const audit = program.command('audit').description('check the ledger');
  audit
    .command('verify')
    .description('replay the ledger, check its hash chain, and compare every balance with what is stored')
    .option('--full', 'replay from the first entry, not from where the last audit verified the ledger up to')
    .action(async (flags: { full?: boolean }) => {
      const backend = await context.backend('read');
      const report = await backend.audit({ full: flags.full === true });
      await context.emit(
        () => ({
          ok: report.ok,
          ...(report.ok ? {} : { code: 'audit_failed' }),
          entries: report.entries,
          verified_from_seq: report.verifiedFromSeq,
          budgets: report.budgets,
          closed_periods: report.closedPeriods,
          open_reservations: report.openReservations,
          head_hash: report.headHash,
          problems: report.problems.map(problemJson),
        }),
        () => humanReport(report),
      );
      if (report.ok) return;
      context.setExitCode(1);
      if (!context.options().json) {
        await reportFailure(context, { code: 'audit_failed', message: `${report.problems.length} problem(s) found; the ledger does not reproduce the stored balances` });
      }
    });
}
