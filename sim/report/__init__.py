"""Briefing: HTML policy briefs with figures, and the terminal's text helpers.

- `brief.build_brief`: `cogov brief RESULTS_DIR --out brief.html [--lang en|zh]`; the page
  (`brief_page`) opens with the verdict (`verdict`); a sweep's with its factor ranking
  (`sweep_summary`); plain names of switch values in `plain`;
- `terminal`: display widths (a Chinese character takes two columns) and `compare`'s table
  fitted to `$COLUMNS`;
- `fonts.use_cjk_font`: matplotlib renders Chinese names (used by the dashboard too);
- `results`: read compare/sweep directories, write the compare format.

The routing table moved to `sim.scenario.routing_table` and the recommender to
`sim.experiments.recommend` (issue 26); `sim.report.routing_table`, `sim.report.recommend` and
`sim.report.recommend_space` still import them. See docs/briefing.md.
"""
