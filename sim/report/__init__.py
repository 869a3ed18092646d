"""Briefing: HTML policy briefs with figures, the routing table as a file, recommendations.

- `brief.build_brief`: `cogov brief RESULTS_DIR --out brief.html [--lang en|zh]`;
- `routing_table`: `cogov routing export|import` (CSV/YAML, docs/routing-table.md);
- `recommend.recommend`: `cogov recommend SCENARIO --objective ... --budget N`;
- `fonts.use_cjk_font`: matplotlib renders Chinese names (used by the dashboard too);
- `results`: read compare/sweep directories, write the compare format.
See docs/briefing.md.
"""
