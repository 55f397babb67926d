"""Templates for tabular files: signatures, matching, versions, mappings, suggestions, records.

Pure logic, no I/O: the worker and the services feed it tables and template rows read through the
store, and store what it returns. The parts, one concern each:

- ``names``: normalised column names, tokens, abbreviations, name similarity;
- ``values``: what a cell's text is (integer, decimal, currency, percent, date, datetime,
  boolean, email, URL, text) and its typed value, for real exports (decimal commas, thousands
  separators, currency symbols, Excel serial dates);
- ``signature``: a table's header position, column names, inferred types and value profiles;
- ``match``: a signature against many templates (exact, or fuzzy with a score), fast;
- ``diff``: what changed between two column lists (added, removed, renamed, retyped);
- ``mapping``: target schemas, mappings with transforms, and their validation;
- ``apply``: a mapping compiled once, turning rows into typed records and per-cell errors;
- ``suggest``: ranked target-field suggestions per source column;
- ``analytics``: recommendations from a template's use;
- ``portable``: the export/import document.

See docs/templates.md.
"""
