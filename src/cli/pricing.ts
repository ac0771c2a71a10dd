import { Option, type Command } from 'commander';
import { modelPriceToJson } from '../contract/index.js';
import { formatUsd } from '../core/index.js';
import { listModels, loadPricing, resolveModel, type PriceCatalog, type PriceEntry } from '../pricing/index.js';
import { didYouMean } from '../suggest.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { table } from './output.js';

/** A per-million price as USD, `-` when the model has none. */
function perMillion(micros: number | null | undefined): string {
  return micros === null || micros === undefined ? '-' : formatUsd(micros);
}

function catalogFrom(path: string | undefined): PriceCatalog {
  const loaded = loadPricing(path === undefined ? {} : { overridePath: path });
  if (!loaded.ok) throw new CliError({ code: loaded.code, message: loaded.message, ...(loaded.field ? { field: loaded.field } : {}) }, 2);
  return loaded.catalog;
}

function entryJson(model: string, e: PriceEntry): Record<string, unknown> {
  return { ...modelPriceToJson(model, e), cache_write_micros_per_million: e.cacheWrite, cache_write_1h_micros_per_million: e.cacheWrite1h ?? null, long_context: e.longContext ?? null, source: e.source ?? null };
}

/**
 * Adds `bursar pricing list|show <model>`: the price catalog the gateway reserves and settles
 * with (USD per million tokens), merged with an override file when `--pricing` names one.
 *
 * @example
 * registerPricing(program, context);
 */
export function registerPricing(program: Command, context: CliContext): void {
  const pricing = program.command('pricing').description('the model price catalog (USD per million tokens)');
  const file = new Option('--pricing <file>', 'price override file merged over the bundled catalog').env('BURSAR_PRICING');
  pricing
    .command('list')
    .description('every priced model')
    .addOption(new Option('--provider <name>', 'only this provider').choices(['openai', 'anthropic']))
    .addOption(file)
    .action(async (flags: { provider?: string; pricing?: string }) => {
      const catalog = catalogFrom(flags.pricing);
      const models = listModels(catalog).filter((m) => flags.provider === undefined || m.entry.provider === flags.provider);
      await context.emit(
        () => ({ read_on: catalog.readOn, models: models.map((m) => entryJson(m.model, m.entry)) }),
        () =>
          `${table(
            [{ header: 'MODEL' }, { header: 'PROVIDER' }, { header: 'KIND' }, { header: 'INPUT', align: 'right' }, { header: 'CACHED', align: 'right' }, { header: 'CACHE WRITE', align: 'right' }, { header: 'OUTPUT', align: 'right' }, { header: 'MAX OUT', align: 'right' }],
            models.map(({ model, entry: e }) => [model, e.provider, e.kind, perMillion(e.input), perMillion(e.cachedInput), perMillion(e.cacheWrite), e.kind === 'embedding' ? '-' : perMillion(e.output), e.maxOutputTokens > 0 ? String(e.maxOutputTokens) : '-']),
          )}\nPrices in USD per million tokens, read on ${catalog.readOn}; \`bursar pricing show <model>\` gives the source.`,
      );
    });
  pricing
    .command('show')
    .description('one model: its prices, where they were read, and what a dated name resolves to')
    .argument('<model>', 'a model id as a client sends it, e.g. gpt-4o-mini-2024-07-18')
    .addOption(file)
    .action(async (name: string, flags: { pricing?: string }) => {
      const catalog = catalogFrom(flags.pricing);
      const resolved = resolveModel(name, catalog);
      if (!resolved.ok) {
        const suggestion = didYouMean(name, [...catalog.models.keys(), ...catalog.aliases.keys()]);
        const message = suggestion === '' ? resolved.message : `model "${name}" has no price in the catalog${suggestion} (or add it to the pricing override file)`;
        throw new CliError({ code: resolved.code, message }, 1);
      }
      const e = resolved.entry;
      await context.emit(
        () => ({ requested: name, resolved_via: resolved.via, ...entryJson(resolved.model, e) }),
        () =>
          [
            `${resolved.model}${resolved.model === name ? '' : ` (from ${name}, by ${resolved.via})`}: ${e.provider} ${e.kind} model`,
            `  input          ${perMillion(e.input)} / M tokens`,
            `  cached input   ${perMillion(e.cachedInput)} / M tokens`,
            `  cache write    ${perMillion(e.cacheWrite)} / M tokens${e.cacheWrite1h ? ` (1-hour: ${perMillion(e.cacheWrite1h)})` : ''}`,
            `  output         ${e.kind === 'embedding' ? '-' : `${perMillion(e.output)} / M tokens`}`,
            `  max output     ${e.maxOutputTokens > 0 ? `${e.maxOutputTokens} tokens` : '-'}`,
            ...(e.longContext ? [`  above ${e.longContext.inputTokensAbove} input tokens: input ${perMillion(e.longContext.input)}, output ${perMillion(e.longContext.output)} / M`] : []),
            ...(e.source ? [`  source         ${e.source.url} (read ${e.source.readOn})${e.source.note ? `\n                 ${e.source.note}` : ''}`] : []),
          ].join('\n'),
      );
    });
}
