// The tests' own reading of a report's CSV (the download), with csv-parse:
// a reference made apart from the page script's reader (site/assets/site.js),
// which the whole-report tests check against it. As the csv crate reads:
// CR, LF and CRLF all end a record, blank lines are skipped, a BOM is not
// part of the first name.
import { parse } from "csv-parse/sync";

/** `text` (a string or UTF-8 bytes) as rows of strings, the header first. */
export function parseCsv(text) {
  return parse(text, {
    bom: true,
    relax_quotes: true,
    skip_empty_lines: true,
    record_delimiter: ["\r\n", "\n", "\r"],
  });
}
