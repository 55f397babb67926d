"""Pure domain code: ids, states and transitions, progress math, errors. No I/O, no imports of ours."""
