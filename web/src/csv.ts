/**
 * CSV made on the page (RFC 4180: CRLF, fields quoted when they hold a comma, quote or line
 * break), and saving a file the page has in hand.
 */

function field(value: string | number | null | undefined): string {
  const text = value === null || value === undefined ? '' : String(value);
  // A leading = + - @ would make a spreadsheet run the cell as a formula.
  const safe = /^[=+\-@\t\r]/.test(text) && !/^-?\d/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * Rows as CSV text with a header row.
 *
 * @example
 * toCsv(['id', 'cost'], [['s1', 12]]) // 'id,cost\r\ns1,12\r\n'
 */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  return [header, ...rows].map((r) => `${r.map(field).join(',')}\r\n`).join('');
}

/** Saves `blob` as a download named `filename`. */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
